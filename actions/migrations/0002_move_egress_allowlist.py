"""The workspace network allowlist moves to the `network` app, which every outbound request of a
workspace consults (knowledge imports by URL too, which cannot see the actions app).

Rows are copied with their ids, notes, authors and dates, then the old table is dropped. Reversing
copies them back.
"""

from django.db import migrations

_COLUMNS = ("id", "workspace_id", "value", "note", "created_by_id", "created_at", "updated_at")


def _copy(schema_editor, source, target) -> None:
    # INSERT … SELECT rather than the ORM: `updated_at` is auto_now and would be rewritten.
    quote = schema_editor.quote_name
    columns = ", ".join(quote(name) for name in _COLUMNS)
    schema_editor.execute(f"INSERT INTO {quote(target._meta.db_table)} ({columns}) "
                          f"SELECT {columns} FROM {quote(source._meta.db_table)} ON CONFLICT DO NOTHING")


def forwards(apps, schema_editor) -> None:
    _copy(schema_editor, apps.get_model("actions", "EgressAllowlistEntry"), apps.get_model("network", "AllowlistEntry"))


def backwards(apps, schema_editor) -> None:
    _copy(schema_editor, apps.get_model("network", "AllowlistEntry"), apps.get_model("actions", "EgressAllowlistEntry"))


class Migration(migrations.Migration):

    dependencies = [
        ('actions', '0001_initial'),
        ('network', '0001_initial'),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
        migrations.DeleteModel(name='EgressAllowlistEntry'),
    ]

"""Re-encrypt every stored secret under the first key of SWITCHBOARD_ENCRYPTION_KEYS."""

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from switchboard.vault import EncryptedTextField, rotate


class Command(BaseCommand):
    help = __doc__

    def handle(self, *args, **options):
        total = 0
        for model in apps.get_models():
            fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
            if not fields:
                continue
            names = [f.attname for f in fields]
            with transaction.atomic():
                for pk, *tokens in _raw_rows(model, names):
                    updates = {name: rotate(token) for name, token in zip(names, tokens) if token}
                    if updates:
                        _write_raw(model, pk, updates)
                        total += 1
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted secrets in {total} rows under the current key."))


def _raw_rows(model, names):
    """Ciphertext as stored (the field's from_db_value would decrypt it)."""
    from django.db import connection

    table = connection.ops.quote_name(model._meta.db_table)
    pk_column = connection.ops.quote_name(model._meta.pk.column)
    columns = ", ".join(connection.ops.quote_name(model._meta.get_field(n).column) for n in names)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {pk_column}, {columns} FROM {table} FOR UPDATE")
        return cursor.fetchall()


def _write_raw(model, pk, updates):
    from django.db import connection

    table = connection.ops.quote_name(model._meta.db_table)
    pk_column = connection.ops.quote_name(model._meta.pk.column)
    assignments = ", ".join(f"{connection.ops.quote_name(model._meta.get_field(n).column)} = %s" for n in updates)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {assignments} WHERE {pk_column} = %s", [*updates.values(), pk])

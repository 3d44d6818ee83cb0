"""Re-encrypt every stored secret under the first key of SWITCHBOARD_ENCRYPTION_KEYS."""

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction
from psycopg import sql

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
                    updates = {name: rotate(token) for name, token in zip(names, tokens, strict=True) if token}
                    if updates:
                        _write_raw(model, pk, updates)
                        total += 1
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted secrets in {total} rows under the current key."))


def _raw_rows(model, names):
    """Ciphertext as stored (the field's from_db_value would decrypt it)."""
    from django.db import connection

    query = sql.SQL("SELECT {pk}, {columns} FROM {table} FOR UPDATE").format(
        pk=sql.Identifier(model._meta.pk.column),
        columns=sql.SQL(", ").join(sql.Identifier(model._meta.get_field(n).column) for n in names),
        table=sql.Identifier(model._meta.db_table),
    )
    with connection.cursor() as cursor:
        cursor.execute(query)
        return cursor.fetchall()


def _write_raw(model, pk, updates):
    from django.db import connection

    query = sql.SQL("UPDATE {table} SET {assignments} WHERE {pk} = %s").format(
        table=sql.Identifier(model._meta.db_table),
        assignments=sql.SQL(", ").join(
            sql.SQL("{} = %s").format(sql.Identifier(model._meta.get_field(n).column)) for n in updates
        ),
        pk=sql.Identifier(model._meta.pk.column),
    )
    with connection.cursor() as cursor:
        cursor.execute(query, [*updates.values(), pk])

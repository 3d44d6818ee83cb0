"""Provider API keys at rest: encrypted in the column, masked in Python, rotatable."""

from __future__ import annotations

import io

import pytest
from cryptography.fernet import Fernet
from django.core import serializers
from django.core.management import call_command
from django.db import connection
from psycopg import sql

from providers.models import Provider
from switchboard import vault
from tests.providers.conftest import PLAINTEXT_KEY

pytestmark = pytest.mark.django_db


def _raw_api_key(provider_id: str) -> str:
    with connection.cursor() as cursor:
        query = sql.SQL("SELECT api_key FROM {} WHERE id = %s").format(sql.Identifier(Provider._meta.db_table))
        cursor.execute(query, [provider_id])
        return cursor.fetchone()[0]


def test_key_is_stored_encrypted(api):
    response = api.post(
        "/api/v1/providers/", {"name": "OpenAI", "kind": "openai", "api_key": PLAINTEXT_KEY}, format="json"
    )
    raw = _raw_api_key(response.json()["id"])
    assert raw and raw != PLAINTEXT_KEY
    assert PLAINTEXT_KEY not in raw
    assert vault.decrypt(raw) == PLAINTEXT_KEY


def test_each_save_uses_a_fresh_token(workspace, make_provider):
    first = make_provider(workspace, name="A")
    second = make_provider(workspace, name="B")
    assert _raw_api_key(first.pk) != _raw_api_key(second.pk)  # Fernet tokens carry a random IV


def test_the_value_does_not_echo_itself(workspace, make_provider):
    provider = Provider.objects.get(pk=make_provider(workspace).pk)
    assert str(provider.api_key) == vault.MASK
    assert repr(provider.api_key) == vault.MASK
    assert PLAINTEXT_KEY not in f"{provider.api_key} {provider.api_key!r} {provider.__dict__!r}"
    assert PLAINTEXT_KEY not in serializers.serialize("json", [provider])
    assert provider.api_key.reveal() == PLAINTEXT_KEY


def test_rotation_re_encrypts_under_the_new_key(workspace, make_provider, settings):
    old_key = settings.ENCRYPTION_KEYS[0]
    provider = make_provider(workspace)
    make_provider(workspace, name="No key", api_key="")
    before = _raw_api_key(provider.pk)

    new_key = Fernet.generate_key().decode()
    settings.ENCRYPTION_KEYS = [new_key]
    with pytest.raises(vault.DecryptionError):
        vault.decrypt(before)  # the new key alone cannot read what the old one wrote

    settings.ENCRYPTION_KEYS = [new_key, old_key]
    call_command("rotate_encryption_keys", stdout=io.StringIO())

    settings.ENCRYPTION_KEYS = [new_key]
    after = _raw_api_key(provider.pk)
    assert after != before
    assert vault.decrypt(after) == PLAINTEXT_KEY
    assert Provider.objects.get(pk=provider.pk).api_key.reveal() == PLAINTEXT_KEY
    assert Provider.objects.get(name="No key").api_key is None


def test_a_missing_key_gives_a_helpful_error(workspace, make_provider, settings):
    provider = make_provider(workspace)
    settings.ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(vault.DecryptionError, match="rotate_encryption_keys"):
        Provider.objects.get(pk=provider.pk)

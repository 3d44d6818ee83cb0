"""Entries made while the allowlist lived in the actions app survive the move to the network app."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from network.models import AllowlistEntry

BEFORE = [("actions", "0001_initial"), ("network", "0001_initial")]
PAST = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


def _migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor


@pytest.mark.django_db(transaction=True)
def test_entries_move_with_their_ids_notes_and_dates(workspace, owner) -> None:
    executor = _migrate(BEFORE)
    try:
        old = executor.loader.project_state(BEFORE).apps.get_model("actions", "EgressAllowlistEntry")
        old.objects.create(
            id="egr_kept0000000001",
            workspace_id=workspace.pk,
            value="10.20.0.0/16",
            note="intranet",
            created_by_id=owner.pk,
            created_at=PAST,
        )
        old.objects.create(id="egr_kept0000000002", workspace_id=workspace.pk, value="wiki.corp.example:8443")
        old.objects.filter(pk="egr_kept0000000001").update(updated_at=PAST)
    finally:
        executor = _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    moved = {entry.pk: entry for entry in AllowlistEntry.objects.all()}
    assert set(moved) == {"egr_kept0000000001", "egr_kept0000000002"}
    first = moved["egr_kept0000000001"]
    assert (first.workspace_id, first.value, first.note, first.created_by_id) == (
        workspace.pk,
        "10.20.0.0/16",
        "intranet",
        owner.pk,
    )
    assert first.created_at == PAST and first.updated_at == PAST
    assert moved["egr_kept0000000002"].value == "wiki.corp.example:8443"
    assert "actions_egressallowlistentry" not in connection.introspection.table_names()

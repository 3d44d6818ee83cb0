"""Messages stored before retrieval had fields of its own get them from their trace."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from bots.models import Message

BEFORE = [("bots", "0001_initial")]


def _migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor


@pytest.mark.django_db(transaction=True)
def test_old_messages_get_their_retrieved_context_from_the_trace(workspace) -> None:
    executor = _migrate(BEFORE)
    try:
        old = executor.loader.project_state(BEFORE).apps
        bot = old.get_model("bots", "Bot").objects.create(workspace_id=workspace.pk, name="Old", slug="old")
        conversation = old.get_model("bots", "Conversation").objects.create(
            workspace_id=workspace.pk, bot=bot, end_user="visitor"
        )
        message_model = old.get_model("bots", "Message")
        retrieval = {
            "type": "retrieval",
            "hits": [
                {"document_name": "退货政策.md", "text": "七天内可以无理由退货。", "page": None},
                {"document_name": "policies.pdf", "text": "Refunds within 30 days.", "page": 2},
            ],
        }
        with_hits = message_model.objects.create(
            workspace_id=workspace.pk,
            conversation=conversation,
            role="assistant",
            content="…",
            trace=[{"type": "queued"}, retrieval, {"type": "generation", "step": 0}],
        )
        without = message_model.objects.create(
            workspace_id=workspace.pk,
            conversation=conversation,
            role="assistant",
            content="plain",
            trace=[{"type": "generation", "step": 0}],
        )
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    migrated = Message.objects.get(pk=with_hits.pk)
    assert migrated.context == [
        {"label": "退货政策.md", "text": "七天内可以无理由退货。", "page": None},
        {"label": "policies.pdf", "text": "Refunds within 30 days.", "page": 2},
    ]
    assert migrated.retrieved_at == migrated.created_at
    assert migrated.trace[1] == retrieval  # the log itself is left as it was
    untouched = Message.objects.get(pk=without.pk)
    assert untouched.context == [] and untouched.retrieved_at is None

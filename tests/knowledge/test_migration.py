"""Knowledge bases made before the neural embedder keep their embedder and their minimum score."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from knowledge.models import Document, KnowledgeBase

BEFORE = [("knowledge", "0004_chunk_storage")]


def _migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor


@pytest.mark.django_db(transaction=True)
def test_existing_bases_keep_the_lexical_embedder_and_the_old_default_minimum(workspace) -> None:
    executor = _migrate(BEFORE)
    try:
        old = executor.loader.project_state(BEFORE).apps
        base = old.get_model("knowledge", "KnowledgeBase").objects.create(
            id="kb_old0000000000001",
            workspace_id=workspace.pk,
            name="Old",
            embedding_model_name="local-hash-v1",
            embedding_dimensions=384,
        )
        old.get_model("knowledge", "Document").objects.create(
            id="doc_old000000000001",
            workspace_id=workspace.pk,
            knowledge_base_id=base.pk,
            name="faq.md",
            source_type="upload",
            status="ready",
        )
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    kept = KnowledgeBase.objects.get(pk="kb_old0000000000001")
    assert (kept.embedding_model_name, kept.embedding_dimensions) == ("local-hash-v1", 384)
    assert kept.embedding_model_id is None
    assert (kept.vector_weight, kept.text_weight, kept.fusion_k, kept.min_score) == (1.0, 1.0, 60, None)
    assert kept.rerank_provider_id is None and kept.rerank_model == ""
    assert Document.objects.get(pk="doc_old000000000001").embedding_stale is False

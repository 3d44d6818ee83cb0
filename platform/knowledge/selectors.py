"""Reads: knowledge bases, documents and chunks of a workspace."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count, Q, QuerySet

from knowledge.models import PROCESSING_STATUSES, Chunk, Document, DocumentStatus, KnowledgeBase


def knowledge_bases_for_workspace(workspace_id: str, ids: Iterable[str]) -> list[KnowledgeBase]:
    """The bases among `ids` that belong to the workspace (others are silently absent), in the
    order the ids were given. Bots validate their configured base ids with this."""
    wanted = [str(value) for value in dict.fromkeys(ids)]
    if not wanted:
        return []
    found = {kb.pk: kb for kb in KnowledgeBase.objects.filter(workspace_id=workspace_id, pk__in=wanted)}
    return [found[pk] for pk in wanted if pk in found]


def knowledge_base_list(*, workspace_id: str) -> QuerySet[KnowledgeBase]:
    return (KnowledgeBase.objects.filter(workspace_id=workspace_id)
            .select_related("embedding_model__provider")
            .annotate(document_count=Count("documents"),
                      processing_count=Count("documents", filter=Q(documents__status__in=PROCESSING_STATUSES)),
                      failed_count=Count("documents", filter=Q(documents__status=DocumentStatus.FAILED)))
            .order_by("name"))


def knowledge_base_get(*, workspace_id: str, knowledge_base_id: str) -> KnowledgeBase | None:
    return knowledge_base_list(workspace_id=workspace_id).filter(pk=knowledge_base_id).first()


def document_list(*, knowledge_base: KnowledgeBase, status: str | None = None) -> QuerySet[Document]:
    documents = Document.objects.filter(knowledge_base=knowledge_base)
    if status:
        documents = documents.filter(status=status)
    return documents.order_by("-created_at")


def document_get(*, workspace_id: str, document_id: str) -> Document | None:
    return (Document.objects.filter(workspace_id=workspace_id, pk=document_id)
            .select_related("knowledge_base").first())


def chunk_list(*, knowledge_base: KnowledgeBase, document_id: str | None = None,
               include_pending: bool = False) -> QuerySet[Chunk]:
    """The base's chunks in reading order: each document's live index (not a run in progress)."""
    chunks = Chunk.objects.filter(knowledge_base=knowledge_base).select_related("document")
    if document_id:
        chunks = chunks.filter(document_id=document_id)
    if not include_pending:
        chunks = chunks.exclude(generation__in=Document.objects.filter(
            knowledge_base=knowledge_base, pending_generation__isnull=False).values("pending_generation"))
    return chunks.defer("embedding", "search_vector").order_by("id")


def any_processing(*, knowledge_base: KnowledgeBase) -> bool:
    return Document.objects.filter(knowledge_base=knowledge_base, status__in=PROCESSING_STATUSES).exists()

"""Knowledge bases, their documents, and the documents' chunks (text + embedding + tsvector).

How a document becomes searchable all at once: every ingestion run writes its chunks under a new
`generation` number, recorded first as the document's `pending_generation`. Retrieval ignores
pending generations, so chunks written batch by batch stay invisible; the final step swaps
`live_generation` to the new run and deletes the old run's chunks in one transaction. Every
chunk therefore belongs to its document's live or pending generation, never to a stray one.
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from pgvector.django import VectorField

from accounts.models import Workspace, WorkspaceScopedModel
from knowledge import document_errors
from providers.models import Provider, ProviderModel
from switchboard.ids import id_field

# The text search configuration created by the migrations (a copy of `english`): one place to
# change stemming, stop words or dictionaries for every knowledge base.
TEXT_SEARCH_CONFIG = "knowledge_text"


class KnowledgeBase(WorkspaceScopedModel):
    id = id_field("kb")
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    # Null means a built-in embedder (named by embedding_model_name). Every stored vector depends
    # on the model: changing it re-indexes every document (`knowledge_base_reembed`).
    embedding_model = models.ForeignKey(
        ProviderModel, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    embedding_model_name = models.CharField(max_length=200)
    embedding_dimensions = models.PositiveIntegerField()
    chunk_size = models.PositiveIntegerField(default=512, help_text="Tokens per chunk (at most).")
    chunk_overlap = models.PositiveIntegerField(default=64, help_text="Tokens shared by consecutive chunks.")
    # Chunks of the documents' live generations; kept by the services, read to plan searches.
    chunk_count = models.BigIntegerField(default=0)
    # How retrieval fuses its channels (see knowledge.fusion): each channel's weight, the rank
    # constant k, and the minimum fused score a passage needs (None: the default).
    vector_weight = models.FloatField(default=1.0)
    text_weight = models.FloatField(default=1.0)
    fusion_k = models.PositiveIntegerField(default=60)
    min_score = models.FloatField(null=True, blank=True)
    # Optional reranking of the fused candidates by a provider's /rerank endpoint.
    rerank_provider = models.ForeignKey(Provider, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    rerank_model = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="knowledge_base_name_unique")]

    def __str__(self) -> str:
        return self.name

    @property
    def uses_local_embedder(self) -> bool:
        return self.embedding_model_id is None

    @property
    def reranks(self) -> bool:
        return self.rerank_provider_id is not None and bool(self.rerank_model)


class DocumentStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    PARSING = "parsing", _("Parsing")
    CHUNKING = "chunking", _("Chunking")
    EMBEDDING = "embedding", _("Embedding")
    READY = "ready", _("Ready")
    FAILED = "failed", _("Failed")


PROCESSING_STATUSES = (DocumentStatus.QUEUED, DocumentStatus.PARSING, DocumentStatus.CHUNKING, DocumentStatus.EMBEDDING)


class SourceType(models.TextChoices):
    UPLOAD = "upload", _("Upload")
    URL = "url", _("URL")


class Document(WorkspaceScopedModel):
    id = id_field("doc")
    knowledge_base = models.ForeignKey(KnowledgeBase, on_delete=models.CASCADE, related_name="documents")
    name = models.CharField(max_length=255)
    source_type = models.CharField(max_length=10, choices=SourceType.choices)
    source_url = models.URLField(max_length=2000, blank=True)
    file_type = models.CharField(max_length=10, blank=True, help_text="txt, md, pdf, docx, html, csv or xlsx.")
    file = models.CharField(max_length=500, blank=True, help_text="Path in the default file storage.")
    size_bytes = models.BigIntegerField(default=0)
    content_hash = models.CharField(max_length=64, blank=True, help_text="SHA-256 of the content.")
    status = models.CharField(max_length=10, choices=DocumentStatus.choices, default=DocumentStatus.QUEUED)
    error_code = models.CharField(max_length=50, blank=True)
    error_message = models.TextField(blank=True)
    progress_done = models.PositiveIntegerField(default=0, help_text="Chunks embedded so far.")
    progress_total = models.PositiveIntegerField(default=0, help_text="Chunks to embed.")
    chunk_count = models.PositiveIntegerField(default=0, help_text="Chunks of the live index.")
    token_count = models.PositiveIntegerField(default=0)
    enabled = models.BooleanField(default=True)
    # The live chunks were embedded by another model than the base's (the base changed models and
    # this document is not re-indexed yet): its chunks answer through full-text search only.
    embedding_stale = models.BooleanField(default=False)
    live_generation = models.BigIntegerField(null=True, blank=True)
    pending_generation = models.BigIntegerField(null=True, blank=True)
    # Bumped by every request to (re)index; a run that finds it changed when done leaves the
    # document queued for the newer request instead of ready.
    ingest_request = models.PositiveIntegerField(default=0)
    indexed_at = models.DateTimeField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["knowledge_base", "-created_at"], name="knowledge_doc_kb_created"),
            # What retrieval filters out: few rows, found at once.
            models.Index(fields=["workspace"], condition=Q(enabled=False), name="knowledge_doc_disabled"),
            models.Index(
                fields=["workspace"], condition=Q(pending_generation__isnull=False), name="knowledge_doc_pending"
            ),
            models.Index(fields=["workspace"], condition=Q(embedding_stale=True), name="knowledge_doc_stale"),
        ]
        constraints = [
            # The same content twice in one base is refused (a failed copy does not count).
            models.UniqueConstraint(
                fields=["knowledge_base", "content_hash"],
                condition=~Q(content_hash="") & ~Q(status="failed"),
                name="knowledge_doc_content_unique",
            ),
            models.UniqueConstraint(
                fields=["workspace", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="knowledge_doc_idempotency_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_processing(self) -> bool:
        return self.status in PROCESSING_STATUSES

    @property
    def progress_percent(self) -> int:
        if self.status == DocumentStatus.READY:
            return 100
        if not self.progress_total:
            return 0
        return min(100, int(100 * self.progress_done / self.progress_total))

    @property
    def error_explanation(self) -> str:
        """Why it failed, in the reader's language (see knowledge.document_errors)."""
        return document_errors.explanation(self.error_code, self.error_message)


class Chunk(models.Model):
    """One retrievable passage. Written in bulk by ingestion (COPY), never through save().

    The HNSW indexes are partial expression indexes, one per embedding dimension, created by
    the migrations and on demand (`chunk_store.vector_index_ensure`): `embedding` has no fixed
    dimension because bases may use different models.
    """

    id = models.BigAutoField(primary_key=True)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+", db_index=False)
    knowledge_base = models.ForeignKey(KnowledgeBase, on_delete=models.CASCADE, related_name="chunks", db_index=False)
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="chunks", db_index=False)
    generation = models.BigIntegerField()
    position = models.PositiveIntegerField()
    heading_path = ArrayField(models.TextField(), default=list, blank=True)
    page = models.PositiveIntegerField(null=True, blank=True)
    text = models.TextField()
    token_count = models.PositiveIntegerField(default=0)
    enabled = models.BooleanField(default=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    dims = models.PositiveSmallIntegerField()
    embedding = VectorField()
    search_vector = SearchVectorField()

    class Meta:
        indexes = [
            models.Index(fields=["knowledge_base", "id"], name="knowledge_chunk_kb_id"),
            models.Index(fields=["document", "generation", "position"], name="knowledge_chunk_doc_gen"),
            GinIndex(fields=["search_vector"], name="knowledge_chunk_search"),
        ]

    def __str__(self) -> str:
        return f"chunk {self.position} of {self.document_id}"

    @property
    def public_id(self) -> str:
        return chunk_public_id(self.pk)


CHUNK_ID_PREFIX = "chk_"


def chunk_public_id(pk: int) -> str:
    return f"{CHUNK_ID_PREFIX}{pk}"


def chunk_pk(public_id: str) -> int | None:
    """The row id behind `chk_123`, or None for anything else."""
    if not public_id.startswith(CHUNK_ID_PREFIX):
        return None
    digits = public_id[len(CHUNK_ID_PREFIX) :]
    return int(digits) if digits.isdigit() and len(digits) < 19 else None

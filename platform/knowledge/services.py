"""Writes: knowledge bases, documents (upload, import by URL, re-index, enable, delete), chunks.

Everything that can be refused at once is refused here with a `DomainError` (the API and the pages
show its message); the slow part of a document — fetching, parsing, chunking, embedding — runs in
the `knowledge.document_ingest` task (see `ingestion`).
"""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import PurePosixPath

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Workspace
from knowledge import chunk_store, chunking, embedding, fusion, retrieval, tasks, vector_indexes
from knowledge.models import (
    Chunk,
    Document,
    DocumentStatus,
    KnowledgeBase,
    SourceType,
)
from knowledge.parsing import formats
from knowledge.search_text import expand_cjk
from providers import selectors as provider_selectors
from providers.models import ModelKind, Provider, ProviderModel
from switchboard import egress
from switchboard.errors import Conflict, InvalidInput, TooLarge, Unprocessable

logger = logging.getLogger(__name__)

_UNSET = object()
#: The built-in embedders' ids (their names): the neural one is the default for new bases.
NEURAL_EMBEDDER_ID = embedding.NEURAL_MODEL.name
LEXICAL_EMBEDDER_ID = embedding.LEXICAL_MODEL.name
DEFAULT_EMBEDDER_ID = embedding.DEFAULT_MODEL.name
LOCAL_EMBEDDER_ID = LEXICAL_EMBEDDER_ID


# -- knowledge bases ---------------------------------------------------------------------------------


def _validate_name(*, workspace_id: str, name: str, exclude_id: str | None = None) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise InvalidInput(_("Give the knowledge base a name."), code="required", param="name")
    if len(name) > 100:
        raise InvalidInput("The name is longer than 100 characters.", code="max_length", param="name")
    if KnowledgeBase.objects.filter(workspace_id=workspace_id, name=name).exclude(pk=exclude_id).exists():
        raise Conflict(
            _("A knowledge base named %(name)s already exists in this workspace.") % {"name": repr(name)},
            code="duplicate_name",
            param="name",
        )
    return name


def _validate_chunking(chunk_size: int, chunk_overlap: int) -> None:
    if not chunking.MIN_CHUNK_TOKENS <= chunk_size <= chunking.MAX_CHUNK_TOKENS:
        raise InvalidInput(
            f"chunk_size must be between {chunking.MIN_CHUNK_TOKENS} and {chunking.MAX_CHUNK_TOKENS} tokens.",
            code="invalid_chunk_size",
            param="chunk_size",
        )
    if not 0 <= chunk_overlap <= chunk_size // 2:
        raise InvalidInput(
            "chunk_overlap must be between 0 and half of chunk_size.",
            code="invalid_chunk_overlap",
            param="chunk_overlap",
        )


def _embedding_model(*, workspace_id: str, embedding_model_id: str | None) -> tuple[ProviderModel | None, str, int]:
    """(provider model or None for a built-in embedder, model name, dimensions)."""
    if not embedding_model_id:
        embedding_model_id = DEFAULT_EMBEDDER_ID
    built_in = embedding.BUILT_IN_MODELS.get(embedding_model_id)
    if built_in is not None:
        return None, built_in.name, built_in.dimensions
    entry = provider_selectors.provider_model_find(workspace_id=workspace_id, id=embedding_model_id)
    if entry is None:
        raise InvalidInput(
            f"No model {embedding_model_id!r} in this workspace; use an embedding model's id from "
            f"GET /api/v1/models/?kind=embedding, or a built-in embedder: {NEURAL_EMBEDDER_ID!r} (neural, "
            f"multilingual, the default) or {LEXICAL_EMBEDDER_ID!r} (lexical, fastest).",
            code="unknown_model",
            param="embedding_model",
        )
    if entry.kind != ModelKind.EMBEDDING:
        raise InvalidInput(
            _("%(model)s is a chat model; a knowledge base needs an embedding model.") % {"model": entry.model},
            code="not_an_embedding_model",
            param="embedding_model",
        )
    if not provider_selectors.provider_model_is_usable(entry):
        raise InvalidInput(
            _("%(model)s is disabled; enable it (and its provider) first.") % {"model": entry.model},
            code="model_disabled",
            param="embedding_model",
        )
    if not entry.embedding_dimensions:
        raise InvalidInput(
            _("%(model)s has no embedding dimensions set; set them on the model under Model providers first.")
            % {"model": entry.model},
            code="missing_dimensions",
            param="embedding_model",
        )
    if entry.embedding_dimensions > vector_indexes.HALFVEC_MAX_DIMS:
        raise InvalidInput(
            f"{entry.model} makes {entry.embedding_dimensions}-dimensional vectors; at most "
            f"{vector_indexes.HALFVEC_MAX_DIMS} can be indexed. Many models can be asked for fewer "
            "dimensions: add the model again with a smaller value.",
            code="too_many_dimensions",
            param="embedding_model",
        )
    return entry, entry.model, entry.embedding_dimensions


def _ensure_index_later(dims: int) -> None:
    transaction.on_commit(lambda: tasks.vector_index_ensure.delay(dims))


def _validate_retrieval(*, vector_weight: float, text_weight: float, fusion_k: int, min_score: float | None) -> None:
    for param, value in (("vector_weight", vector_weight), ("text_weight", text_weight)):
        if not 0.0 <= float(value) <= fusion.MAX_WEIGHT:
            raise InvalidInput(
                f"{param} must be between 0 and {fusion.MAX_WEIGHT:g}.", code="invalid_weight", param=param
            )
    if float(vector_weight) + float(text_weight) <= 0:
        raise InvalidInput(
            "At least one of vector_weight and text_weight must be above 0.",
            code="invalid_weight",
            param="vector_weight",
        )
    if not 1 <= int(fusion_k) <= fusion.MAX_K:
        raise InvalidInput(f"fusion_k must be between 1 and {fusion.MAX_K}.", code="invalid_fusion_k", param="fusion_k")
    if min_score is not None and not 0.0 <= float(min_score) <= 1.0:
        raise InvalidInput("min_score must be between 0 and 1.", code="invalid_min_score", param="min_score")


def _rerank_provider(*, workspace_id: str, provider_id: str | None, model: str) -> tuple[Provider | None, str]:
    model = (model or "").strip()
    if not provider_id and not model:
        return None, ""
    if not provider_id or not model:
        raise InvalidInput(
            "Reranking needs both a provider (rerank_provider) and a model name (rerank_model); "
            "leave both empty for none.",
            code="incomplete_rerank",
            param="rerank_model" if provider_id else "rerank_provider",
        )
    if len(model) > 200:
        raise InvalidInput("rerank_model is longer than 200 characters.", code="max_length", param="rerank_model")
    provider = Provider.objects.filter(workspace_id=workspace_id, pk=provider_id).first()
    if provider is None:
        raise InvalidInput(
            f"No provider {provider_id!r} in this workspace.", code="unknown_provider", param="rerank_provider"
        )
    return provider, model


@transaction.atomic
def knowledge_base_create(
    *,
    workspace: Workspace,
    name: str,
    description: str = "",
    embedding_model_id: str | None = None,
    chunk_size: int = 512,
    chunk_overlap: int = 64,
    vector_weight: float = 1.0,
    text_weight: float = 1.0,
    fusion_k: int = fusion.RRF_K,
    min_score=_UNSET,
    rerank_provider_id: str | None = None,
    rerank_model: str = "",
) -> KnowledgeBase:
    """A new base; without `embedding_model_id` it embeds with the built-in neural embedder, and
    without `min_score` it starts with `retrieval.RECOMMENDED_MIN_SCORE` (None: the global default)."""
    if min_score is _UNSET:
        min_score = retrieval.RECOMMENDED_MIN_SCORE
    _validate_chunking(chunk_size, chunk_overlap)
    _validate_retrieval(vector_weight=vector_weight, text_weight=text_weight, fusion_k=fusion_k, min_score=min_score)
    entry, model_name, dims = _embedding_model(workspace_id=workspace.pk, embedding_model_id=embedding_model_id)
    provider, rerank_name = _rerank_provider(
        workspace_id=workspace.pk, provider_id=rerank_provider_id, model=rerank_model
    )
    base = KnowledgeBase.objects.create(
        workspace=workspace,
        name=_validate_name(workspace_id=workspace.pk, name=name),
        description=description.strip(),
        embedding_model=entry,
        embedding_model_name=model_name,
        embedding_dimensions=dims,
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        vector_weight=vector_weight,
        text_weight=text_weight,
        fusion_k=fusion_k,
        min_score=min_score,
        rerank_provider=provider,
        rerank_model=rerank_name,
    )
    _ensure_index_later(dims)
    return base


@transaction.atomic
def knowledge_base_update(
    *,
    knowledge_base: KnowledgeBase,
    name: str | None = None,
    description: str | None = None,
    chunk_size: int | None = None,
    chunk_overlap: int | None = None,
    embedding_model_id=_UNSET,
    vector_weight: float | None = None,
    text_weight: float | None = None,
    fusion_k: int | None = None,
    min_score=_UNSET,
    rerank_provider_id=_UNSET,
    rerank_model: str | None = None,
) -> KnowledgeBase:
    """Change the given fields. New chunk sizes apply to documents indexed from now on (re-index
    to apply them to the others); retrieval settings apply to the next query; the embedding model
    can change here only while the base is empty (`knowledge_base_reembed` otherwise)."""
    base = KnowledgeBase.objects.select_for_update().get(pk=knowledge_base.pk)
    if name is not None:
        base.name = _validate_name(workspace_id=base.workspace_id, name=name, exclude_id=base.pk)
    if description is not None:
        base.description = description.strip()
    size = base.chunk_size if chunk_size is None else chunk_size
    overlap = base.chunk_overlap if chunk_overlap is None else chunk_overlap
    _validate_chunking(size, overlap)
    base.chunk_size, base.chunk_overlap = size, overlap
    base.vector_weight = base.vector_weight if vector_weight is None else vector_weight
    base.text_weight = base.text_weight if text_weight is None else text_weight
    base.fusion_k = base.fusion_k if fusion_k is None else fusion_k
    if min_score is not _UNSET:
        base.min_score = min_score
    _validate_retrieval(
        vector_weight=base.vector_weight, text_weight=base.text_weight, fusion_k=base.fusion_k, min_score=base.min_score
    )
    if rerank_provider_id is not _UNSET or rerank_model is not None:
        base.rerank_provider, base.rerank_model = _rerank_provider(
            workspace_id=base.workspace_id,
            provider_id=base.rerank_provider_id if rerank_provider_id is _UNSET else rerank_provider_id,
            model=base.rerank_model if rerank_model is None else rerank_model,
        )
    if embedding_model_id is not _UNSET:
        entry, model_name, dims = _embedding_model(
            workspace_id=base.workspace_id, embedding_model_id=embedding_model_id
        )
        if entry != base.embedding_model or model_name != base.embedding_model_name:
            if Document.objects.filter(knowledge_base=base).exists():
                raise Conflict(
                    "The embedding model of a knowledge base with documents changes by re-indexing them "
                    "all: POST …/knowledge-bases/{id}/reindex with the new embedding_model.",
                    code="knowledge_base_not_empty",
                    param="embedding_model",
                )
            base.embedding_model, base.embedding_model_name, base.embedding_dimensions = entry, model_name, dims
            _ensure_index_later(dims)
    base.save()
    return base


@transaction.atomic
def knowledge_base_reembed(*, knowledge_base: KnowledgeBase, embedding_model_id: str | None = None) -> KnowledgeBase:
    """Re-index every document of the base, with another embedding model when one is given.

    With a new model, the base switches at once: each document keeps answering through
    full-text search, and through vector search again as soon as its own re-index is done (its
    old vectors belong to the old model and are left out meanwhile). Progress is the share of
    documents no longer waiting (`selectors.knowledge_base_reindex_progress`).
    """
    base = KnowledgeBase.objects.select_for_update().get(pk=knowledge_base.pk)
    if embedding_model_id:
        entry, model_name, dims = _embedding_model(
            workspace_id=base.workspace_id, embedding_model_id=embedding_model_id
        )
        if entry != base.embedding_model or model_name != base.embedding_model_name:
            base.embedding_model, base.embedding_model_name, base.embedding_dimensions = entry, model_name, dims
            base.save(update_fields=["embedding_model", "embedding_model_name", "embedding_dimensions", "updated_at"])
            Document.objects.filter(knowledge_base=base).update(embedding_stale=True)
            _ensure_index_later(dims)
    documents = list(Document.objects.select_for_update().filter(knowledge_base=base).order_by("created_at"))
    for doc in documents:
        Document.objects.filter(pk=doc.pk).update(
            status=DocumentStatus.QUEUED,
            ingest_request=F("ingest_request") + 1,
            error_code="",
            error_message="",
            progress_done=0,
            updated_at=timezone.now(),
        )
        _enqueue(doc)
    return base


def _delete_files(paths: list[str]) -> None:
    for path in paths:
        try:
            default_storage.delete(path)
        except OSError:
            logger.warning("could not delete a document file", extra={"path": path})


@transaction.atomic
def knowledge_base_delete(*, knowledge_base: KnowledgeBase) -> None:
    """Delete the base with its documents, chunks and files."""
    files = [
        path for path in Document.objects.filter(knowledge_base=knowledge_base).values_list("file", flat=True) if path
    ]
    chunk_store.chunks_delete(knowledge_base_id=knowledge_base.pk)
    knowledge_base.delete()
    transaction.on_commit(lambda: _delete_files(files))


# -- documents -------------------------------------------------------------------------------------

_UNSAFE_NAME = re.compile(r"[^\w.\- ]+", re.UNICODE)


def _storage_name(name: str) -> str:
    base = PurePosixPath(name.replace("\\", "/")).name
    cleaned = _UNSAFE_NAME.sub("_", base).strip(" .") or "document"
    return cleaned[-120:]


def _enqueue(document: Document) -> None:
    document_id = document.pk
    transaction.on_commit(lambda: tasks.document_ingest.delay(document_id))


def _idempotent_repeat(*, workspace_id: str, idempotency_key: str) -> Document | None:
    if not idempotency_key:
        return None
    return Document.objects.filter(workspace_id=workspace_id, idempotency_key=idempotency_key).first()


def _duplicate_of(
    *, knowledge_base: KnowledgeBase, content_hash: str, exclude_id: str | None = None
) -> Document | None:
    return (
        Document.objects.filter(knowledge_base=knowledge_base, content_hash=content_hash)
        .exclude(status=DocumentStatus.FAILED)
        .exclude(pk=exclude_id)
        .first()
    )


def duplicate_error(existing: Document) -> Conflict:
    return Conflict(
        _("This content is already in the knowledge base as '%(name)s' (%(id)s).")
        % {"name": existing.name, "id": existing.pk},
        code="duplicate_document",
        param="file",
    )


def _check_idempotency_key(key: str) -> str:
    key = (key or "").strip()
    if len(key) > 200:
        raise InvalidInput(
            "The Idempotency-Key header is longer than 200 characters.",
            code="invalid_idempotency_key",
            param="Idempotency-Key",
        )
    return key


def document_create_from_upload(
    *,
    knowledge_base: KnowledgeBase,
    file: UploadedFile,
    name: str | None = None,
    created_by=None,
    idempotency_key: str = "",
) -> tuple[Document, bool]:
    """Store an uploaded file and queue it for indexing: (document, created).

    `created` is False when `idempotency_key` repeats an earlier request: that request's document
    is returned and nothing else happens.
    """
    key = _check_idempotency_key(idempotency_key)
    repeat = _idempotent_repeat(workspace_id=knowledge_base.workspace_id, idempotency_key=key)
    if repeat is not None:
        return repeat, False
    display_name = " ".join((name or file.name or "").split())[:255] or "document"
    limit = settings.KNOWLEDGE_MAX_UPLOAD_BYTES
    if file.size is not None and file.size > limit:
        raise TooLarge(
            _("The file is %(size)s MB; the limit is %(limit)s MB.")
            % {"size": f"{file.size / 1048576:,.1f}", "limit": limit // 1048576},
            code="file_too_large",
            param="file",
        )
    file_type = formats.from_name(file.name or display_name)
    if file_type is None:
        raise InvalidInput(
            formats.unsupported_reason(file.name or display_name), code="unsupported_file_type", param="file"
        )
    digest = hashlib.sha256()
    size = 0
    for piece in file.chunks():
        digest.update(piece)
        size += len(piece)
    if size == 0:
        raise Unprocessable(_("The file is empty."), code="empty_file", param="file")
    content_hash = digest.hexdigest()
    existing = _duplicate_of(knowledge_base=knowledge_base, content_hash=content_hash)
    if existing is not None:
        raise duplicate_error(existing)

    document = Document(
        workspace_id=knowledge_base.workspace_id,
        knowledge_base=knowledge_base,
        name=display_name,
        source_type=SourceType.UPLOAD,
        file_type=file_type,
        size_bytes=size,
        content_hash=content_hash,
        idempotency_key=key,
        created_by=created_by,
        ingest_request=1,
    )
    file.seek(0)
    path = default_storage.save(
        f"knowledge/{knowledge_base.workspace_id}/{knowledge_base.pk}/{document.pk}/"
        f"{_storage_name(file.name or display_name)}",
        file,
    )
    document.file = path
    try:
        with transaction.atomic():
            document.save(force_insert=True)
            _enqueue(document)
    except IntegrityError:
        _delete_files([path])
        repeat = _idempotent_repeat(workspace_id=knowledge_base.workspace_id, idempotency_key=key)
        if repeat is not None:
            return repeat, False
        existing = _duplicate_of(knowledge_base=knowledge_base, content_hash=content_hash)
        if existing is not None:
            raise duplicate_error(existing) from None
        raise
    return document, True


def _url_name(parsed: egress.ParsedURL) -> str:
    return parsed.display[:255]


def document_create_from_url(
    *, knowledge_base: KnowledgeBase, url: str, created_by=None, idempotency_key: str = ""
) -> tuple[Document, bool]:
    """Queue a web page or file at `url` for import: (document, created).

    Only the URL's form is checked here; the fetch (through the egress helper, which refuses
    private addresses the workspace's network allowlist does not name, also after redirects) happens
    in the task, so a refusal ends the document
    `failed` with the reason.
    """
    key = _check_idempotency_key(idempotency_key)
    repeat = _idempotent_repeat(workspace_id=knowledge_base.workspace_id, idempotency_key=key)
    if repeat is not None:
        return repeat, False
    try:
        parsed = egress.parse_url(url)
    except egress.InvalidURL as exc:
        raise InvalidInput(exc.message, code="invalid_url", param="url") from exc
    if len(parsed.url) > 2000:
        raise InvalidInput(_("The URL is longer than 2000 characters."), code="invalid_url", param="url")
    document = Document(
        workspace_id=knowledge_base.workspace_id,
        knowledge_base=knowledge_base,
        name=_url_name(parsed),
        source_type=SourceType.URL,
        source_url=parsed.url,
        idempotency_key=key,
        created_by=created_by,
        ingest_request=1,
    )
    try:
        with transaction.atomic():
            document.save(force_insert=True)
            _enqueue(document)
    except IntegrityError:
        repeat = _idempotent_repeat(workspace_id=knowledge_base.workspace_id, idempotency_key=key)
        if repeat is not None:
            return repeat, False
        raise
    return document, True


@transaction.atomic
def document_reindex(*, document: Document) -> Document:
    """Index the document again from its source (the file, or the URL fetched anew).

    The current index keeps answering until the new one is complete. Chunk edits are lost: the
    chunks are made again from the source.
    """
    doc = Document.objects.select_for_update().get(pk=document.pk)
    if doc.content_hash and doc.status == DocumentStatus.FAILED:
        existing = _duplicate_of(knowledge_base=doc.knowledge_base, content_hash=doc.content_hash, exclude_id=doc.pk)
        if existing is not None:
            raise duplicate_error(existing)
    doc.status = DocumentStatus.QUEUED
    doc.ingest_request = F("ingest_request") + 1
    doc.error_code = doc.error_message = ""
    doc.save(update_fields=["status", "ingest_request", "error_code", "error_message", "updated_at"])
    doc.refresh_from_db()
    _enqueue(doc)
    return doc


@transaction.atomic
def document_set_enabled(*, document: Document, enabled: bool) -> Document:
    """A disabled document stays indexed but answers no query."""
    Document.objects.filter(pk=document.pk).update(enabled=enabled, updated_at=timezone.now())
    document.refresh_from_db()
    return document


@transaction.atomic
def document_delete(*, document: Document) -> None:
    """Delete the document, its chunks (at once) and its file. A running ingestion notices and stops."""
    doc = Document.objects.select_for_update().filter(pk=document.pk).first()
    if doc is None:
        return
    chunk_store.chunks_delete(document_id=doc.pk)
    if doc.live_generation is not None and doc.chunk_count:
        KnowledgeBase.objects.filter(pk=doc.knowledge_base_id).update(chunk_count=F("chunk_count") - doc.chunk_count)
    path = doc.file
    doc.delete()
    if path:
        transaction.on_commit(lambda: _delete_files([path]))


# -- chunks ------------------------------------------------------------------------------------------


def chunk_update(*, chunk: Chunk, text: str | None = None, enabled: bool | None = None) -> Chunk:
    """Edit a chunk's text (re-embedded and re-indexed for full-text search at once) or enable or
    disable it. A later re-index of the document makes its chunks again from the source."""
    fields: dict = {}
    if enabled is not None:
        fields["enabled"] = enabled
    if text is not None:
        text = text.strip()
        if not text:
            raise InvalidInput(
                _("A chunk's text cannot be empty; disable the chunk instead."), code="empty_text", param="text"
            )
        if len(text) > 100_000:
            raise InvalidInput("The text is longer than 100,000 characters.", code="max_length", param="text")
        base = chunk.knowledge_base
        heading = " > ".join(chunk.heading_path)
        try:
            vector = embedding.embed_texts(embedding.model_of(base), [chunking.search_text(text, chunk.heading_path)])[
                0
            ]
        except embedding.EmbeddingError as exc:
            raise exc.as_domain_error("The chunk could not be re-embedded") from exc
        from switchboard.text import count_tokens

        fields.update(text=text, token_count=count_tokens(text), edited_at=timezone.now())
        with transaction.atomic():
            chunk_store.chunk_reindex(
                chunk_id=chunk.pk, vector=vector, heading_search=expand_cjk(heading), body_search=expand_cjk(text)
            )
            Chunk.objects.filter(pk=chunk.pk).update(**fields)
    elif fields:
        Chunk.objects.filter(pk=chunk.pk).update(**fields)
    return Chunk.objects.defer("embedding", "search_vector").select_related("document").get(pk=chunk.pk)

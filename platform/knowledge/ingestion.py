"""One document's way into the index: fetch → parse → chunk → embed (batched) → swap live.

Run by the `knowledge.document_ingest` task; safe to run again at any point (a redelivered or
retried task, a worker killed half-way):

1. *Start* (one transaction): drop chunks left by an unfinished earlier run, pick a new
   generation number and record it as the document's pending generation.
2. Parse and chunk in memory; embed batch by batch, writing each batch with COPY under the
   pending generation (invisible to retrieval) and recording progress.
3. *Swap* (one transaction): delete the previous live chunks, make the new generation live.
   Retrieval sees the whole old index or the whole new one, never a mix or a part.

A failure a person can act on (unreadable file, refused URL, provider error) ends the document
`failed` with the reason; the previous index, if any, keeps answering.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from urllib.parse import unquote

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.db.models import F
from django.utils import timezone

from knowledge import chunk_store, embedding, parsing
from knowledge.chunking import Chunk as TextChunk
from knowledge.chunking import chunk_blocks, search_text
from knowledge.models import Document, DocumentStatus, KnowledgeBase, SourceType
from knowledge.parsing import formats
from knowledge.parsing.base import ParseError
from knowledge.search_text import expand_cjk
from network import selectors as network_selectors
from switchboard import egress

logger = logging.getLogger(__name__)

_DONE = (DocumentStatus.READY, DocumentStatus.FAILED)


class Superseded(Exception):
    """The document was deleted, or a newer run took over, while this run was working."""


@dataclass(frozen=True)
class Run:
    document_id: str
    generation: int
    request: int


@dataclass(frozen=True)
class Source:
    data: bytes
    file_type: str
    charset: str | None = None
    name: str | None = None


# -- steps ---------------------------------------------------------------------------------------------


def _start(document_id: str) -> Run | None:
    with transaction.atomic():
        doc = Document.objects.select_for_update().filter(pk=document_id).first()
        if doc is None or doc.status in _DONE:
            return None  # deleted, or nothing requested (a duplicate delivery of a finished task)
        chunk_store.chunks_delete(document_id=doc.pk, other_than_generation=doc.live_generation)
        generation = secrets.randbits(62)
        Document.objects.filter(pk=doc.pk).update(
            pending_generation=generation,
            status=DocumentStatus.PARSING,
            progress_done=0,
            progress_total=0,
            error_code="",
            error_message="",
            updated_at=timezone.now(),
        )
        return Run(doc.pk, generation, doc.ingest_request)


def _update(run: Run, **fields) -> None:
    """Record progress; Superseded when the run no longer owns the document."""
    updated = Document.objects.filter(pk=run.document_id, pending_generation=run.generation).update(
        updated_at=timezone.now(), **fields
    )
    if not updated:
        raise Superseded()


def _fetch_policy(doc: Document) -> egress.EgressPolicy:
    """The workspace's network allowlist (the same one action calls use), plus the deployment's
    SWITCHBOARD_KNOWLEDGE_URL_ALLOWLIST."""
    try:
        return network_selectors.workspace_policy(
            workspace_id=doc.workspace_id,
            extra=settings.KNOWLEDGE_URL_ALLOWLIST,
            max_response_bytes=settings.KNOWLEDGE_MAX_UPLOAD_BYTES,
            total_timeout=120.0,
            read_timeout=30.0,
        )
    except ValueError as exc:
        raise ParseError(
            f"SWITCHBOARD_KNOWLEDGE_URL_ALLOWLIST is misconfigured: {exc}", code="egress_misconfigured"
        ) from exc


def _fetch(doc: Document) -> Source:
    policy = _fetch_policy(doc)
    try:
        response = egress.request(
            "GET",
            doc.source_url,
            policy=policy,
            headers={
                "Accept": "text/html,application/xhtml+xml,application/pdf,text/plain,text/markdown,text/csv,*/*;q=0.5"
            },
        )
    except egress.ResponseTooLarge as exc:
        limit_mb = settings.KNOWLEDGE_MAX_UPLOAD_BYTES // 1048576
        raise ParseError(
            f"The document at the URL is larger than the {limit_mb} MB limit.", code="file_too_large"
        ) from exc
    except egress.EgressError as exc:
        raise ParseError(f"The URL could not be fetched: {exc.message}", code=f"url_{exc.code}") from exc
    if response.status_code != 200:
        raise ParseError(
            f"The server answered HTTP {response.status_code} {response.reason_phrase}".rstrip()
            + " instead of the document.",
            code="url_http_error",
        )
    media_type = response.headers.get("content-type", "")
    path = unquote(doc.source_url.split("?", 1)[0].split("#", 1)[0])
    # What the bytes say first (a PDF is a PDF whatever the header claims), then the URL's
    # extension (servers often send Markdown and CSV as text/plain), then the media type.
    file_type = formats.sniff(response.content) or formats.from_name(path) or formats.from_media_type(media_type)
    if file_type is None:
        shown = media_type.split(";", 1)[0] or "unknown"
        raise ParseError(
            f"The URL serves content of type '{shown}', which is not supported. Supported: "
            f"{formats.SUPPORTED_DESCRIPTION}.",
            code="unsupported_file_type",
        )
    charset = None
    if "charset=" in media_type:
        charset = media_type.split("charset=", 1)[1].split(";", 1)[0].strip().strip('"') or None
    tail = path.rstrip("/").rsplit("/", 1)[-1]
    return Source(response.content, file_type, charset, tail if "." in tail else None)


def _load(doc: Document) -> Source:
    if doc.source_type == SourceType.URL:
        return _fetch(doc)
    try:
        with default_storage.open(doc.file, "rb") as handle:
            data = handle.read()
    except (FileNotFoundError, OSError) as exc:
        raise ParseError("The uploaded file is missing from storage; upload it again.", code="file_missing") from exc
    return Source(data, doc.file_type)


def _record_source(run: Run, doc: Document, source: Source) -> None:
    """For URL imports: the content's size, hash and type, once fetched (duplicates refused)."""
    if doc.source_type != SourceType.URL:
        return
    content_hash = hashlib.sha256(source.data).hexdigest()
    duplicate = (
        Document.objects.filter(knowledge_base_id=doc.knowledge_base_id, content_hash=content_hash)
        .exclude(pk=doc.pk)
        .exclude(status=DocumentStatus.FAILED)
        .first()
    )
    if duplicate is not None:
        raise ParseError(
            f"This content is already in the knowledge base as '{duplicate.name}' ({duplicate.pk}).",
            code="duplicate_document",
        )
    try:
        with transaction.atomic():
            _update(run, content_hash=content_hash, size_bytes=len(source.data), file_type=source.file_type)
    except IntegrityError as exc:
        raise ParseError("This content is already in the knowledge base.", code="duplicate_document") from exc


def _no_text_message(file_type: str) -> str:
    if file_type == formats.PDF:
        return (
            "The PDF contains no text that can be extracted: it is probably scanned images. Run it "
            "through OCR (most PDF tools can) and upload the result."
        )
    if file_type in (formats.CSV, formats.XLSX):
        return "The table is empty: it needs a header row and at least one row of values."
    return "The document contains no text."


def _rows(chunks: list[TextChunk]) -> list[chunk_store.ChunkRow]:
    return [
        chunk_store.ChunkRow(
            position=chunk.position,
            heading_path=chunk.heading_path,
            page=chunk.page,
            text=chunk.text,
            token_count=chunk.token_count,
            heading_search=expand_cjk(" ".join(chunk.heading_path)),
            body_search=expand_cjk(chunk.text),
        )
        for chunk in chunks
    ]


def _embed_and_write(run: Run, doc: Document, base: KnowledgeBase, chunks: list[TextChunk]) -> None:
    model = embedding.model_of(base)
    embed = embedding.embedder_for(model)
    size = embedding.batch_size(model)
    done = 0
    for start in range(0, len(chunks), size):
        batch = chunks[start : start + size]
        vectors = embed([search_text(chunk.text, chunk.heading_path) for chunk in batch])
        try:
            chunk_store.write_chunks(
                workspace_id=doc.workspace_id,
                knowledge_base_id=base.pk,
                document_id=doc.pk,
                generation=run.generation,
                dims=base.embedding_dimensions,
                rows=_rows(batch),
                vectors=vectors,
            )
        except IntegrityError as exc:  # the document was deleted meanwhile
            raise Superseded() from exc
        done += len(batch)
        _update(run, progress_done=done)


def _swap(run: Run, base: KnowledgeBase, chunks: list[TextChunk]) -> None:
    with transaction.atomic():
        doc = Document.objects.select_for_update().filter(pk=run.document_id).first()
        if doc is None or doc.pending_generation != run.generation:
            raise Superseded()
        old_count = doc.chunk_count if doc.live_generation is not None else 0
        if doc.live_generation is not None:
            chunk_store.chunks_delete(document_id=doc.pk, generation=doc.live_generation)
        newer_request = doc.ingest_request != run.request
        Document.objects.filter(pk=doc.pk).update(
            live_generation=run.generation,
            pending_generation=None,
            status=DocumentStatus.QUEUED if newer_request else DocumentStatus.READY,
            # Embedded with the base's current model, unless a newer request (maybe for another model) came meanwhile.
            embedding_stale=doc.embedding_stale if newer_request else False,
            chunk_count=len(chunks),
            token_count=sum(chunk.token_count for chunk in chunks),
            progress_done=len(chunks),
            progress_total=len(chunks),
            indexed_at=timezone.now(),
            error_code="",
            error_message="",
            updated_at=timezone.now(),
        )
        KnowledgeBase.objects.filter(pk=base.pk).update(chunk_count=F("chunk_count") + len(chunks) - old_count)


def fail(run: Run | None, document_id: str, *, code: str, message: str) -> None:
    """End the run `failed` with a reason; its chunks go, the previous live index stays."""
    with transaction.atomic():
        doc = Document.objects.select_for_update().filter(pk=document_id).first()
        if doc is None:
            return
        if run is not None and doc.pending_generation != run.generation:
            return  # a newer run owns the document
        if doc.pending_generation is not None:
            chunk_store.chunks_delete(document_id=doc.pk, generation=doc.pending_generation)
        newer_request = run is not None and doc.ingest_request != run.request
        Document.objects.filter(pk=doc.pk).update(
            pending_generation=None,
            status=DocumentStatus.QUEUED if newer_request else DocumentStatus.FAILED,
            error_code=code[:50],
            error_message=message[:2000],
            progress_done=0,
            updated_at=timezone.now(),
        )


# -- the pipeline --------------------------------------------------------------------------------------


def document_ingest(*, document_id: str, final_attempt: bool = True) -> str:
    """Index the document; returns the status it ended in ("skipped" when there was nothing to do).

    Retryable provider errors are raised (for the task to retry later) unless `final_attempt`.
    """
    run = _start(document_id)
    if run is None:
        return "skipped"
    doc = Document.objects.select_related("knowledge_base").get(pk=document_id)
    base = doc.knowledge_base
    try:
        source = _load(doc)
        _record_source(run, doc, source)
        parsed = parsing.parse(
            source.data,
            source.file_type,
            charset=source.charset,
            limits=parsing.Limits(
                max_uncompressed_bytes=settings.KNOWLEDGE_MAX_UNZIPPED_BYTES,
                max_pages=settings.KNOWLEDGE_MAX_PDF_PAGES,
                max_rows=settings.KNOWLEDGE_MAX_TABLE_ROWS,
            ),
        )
        if doc.source_type == SourceType.URL and (parsed.title or source.name):
            _update(run, name=(parsed.title or source.name)[:255])
        _update(run, status=DocumentStatus.CHUNKING)
        chunks = chunk_blocks(parsed.blocks, chunk_tokens=base.chunk_size, overlap_tokens=base.chunk_overlap)
        if not chunks:
            raise ParseError(_no_text_message(source.file_type), code="empty_document")
        _update(run, status=DocumentStatus.EMBEDDING, progress_total=len(chunks), progress_done=0)
        _embed_and_write(run, doc, base, chunks)
        _swap(run, base, chunks)
    except Superseded:
        return "superseded"
    except ParseError as exc:
        fail(run, document_id, code=exc.code, message=exc.message)
        return DocumentStatus.FAILED
    except embedding.EmbeddingError as exc:
        if exc.retryable and not final_attempt:
            raise
        fail(run, document_id, code=exc.code, message=exc.message)
        return DocumentStatus.FAILED
    except (OperationalError, InterfaceError):
        if not final_attempt:
            raise  # the database went away: the next attempt starts this run again
        fail(
            run,
            document_id,
            code="database_unavailable",
            message="The database was unavailable while indexing; re-index the document.",
        )
        return DocumentStatus.FAILED
    except Exception as exc:
        from celery.exceptions import SoftTimeLimitExceeded

        if isinstance(exc, SoftTimeLimitExceeded):
            fail(
                run,
                document_id,
                code="timeout",
                message=(
                    f"Indexing took longer than {settings.KNOWLEDGE_INGEST_TIME_LIMIT_SECONDS // 60} minutes and was "
                    "stopped; split the document into smaller files."
                ),
            )
            return DocumentStatus.FAILED
        logger.exception("document ingestion failed", extra={"document_id": document_id})
        fail(
            run,
            document_id,
            code="internal_error",
            message="Indexing failed because of an internal error; the server log has the details. "
            "Try re-indexing the document.",
        )
        return DocumentStatus.FAILED
    return DocumentStatus.READY

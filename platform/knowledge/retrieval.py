"""Hybrid retrieval: pgvector (cosine) and PostgreSQL full-text search, fused by reciprocal rank.

    hits = retrieve(workspace_id=…, knowledge_base_ids=[…], query="How do refunds work?", top_k=8)
    [hit.citation() for hit in hits]

Per query:

1. The bases are checked against the workspace and grouped by embedding model; the query is
   embedded once per model.
2. Vector channel, per model: a base set of up to `SWITCHBOARD_KNOWLEDGE_EXACT_SEARCH_MAX_CHUNKS`
   chunks (`…_LOCAL_EXACT_SEARCH_MAX_CHUNKS` for the built-in embedder, whose lexical vectors
   a filtered graph scan serves less well) is searched exactly (every vector compared: perfect
   recall, a few milliseconds per 10,000 chunks); larger sets go through the HNSW index of that
   dimension (`ef_search` 400 by default) with pgvector's iterative scan, which keeps scanning
   the graph until enough rows pass the filters, so a filter to a few bases does not starve the
   result.
3. Text channel: the query's lexemes (CJK as bigrams), weighted by inverse document frequency;
   candidates from its rarer terms through the GIN index, ranked by the share of the query's
   weight they contain.
4. Reciprocal rank fusion of the channels (candidate pools several times `top_k`), each vote
   weighted by the channel's own relevance; the score threshold applies to the fused score
   (`DEFAULT_SCORE_THRESHOLD` when the caller gives none, so passages unrelated to the question
   are neither given to a model nor cited; an explicit 0 keeps every candidate).

Filters are inside each query: the bases, enabled chunks, enabled documents, and no chunk of an
unfinished ingestion run (see knowledge.models), all read in the same statement as the chunks,
so a document being indexed is invisible until its index is complete.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from psycopg import sql

from knowledge import embedding, vector_indexes
from knowledge.chunk_store import vector_literal
from knowledge.fusion import Ranked, reciprocal_rank_fusion
from knowledge.models import TEXT_SEARCH_CONFIG, KnowledgeBase, chunk_public_id
from knowledge.search_text import (
    TermStats,
    WeightedTerm,
    expand_cjk,
    or_query,
    weigh_terms,
)

logger = logging.getLogger(__name__)

MAX_QUERY_CHARS = 2000
MAX_TOP_K = 100
SNIPPET_CHARS = 200
TEXT_CANDIDATE_ROWS = 2000
STATS_TTL_SECONDS = 300.0

# The minimum fused score when the caller sets none (`score_threshold=None`, a bot's default).
# Without it every candidate up to top_k came back, down to passages with a 0.000 cosine
# similarity and no word of the question, and the model was handed (and cited) them. A passage
# ranked first in a channel scores half its relevance there (two channels), so 0.05 asks for
# about 0.1 cosine similarity, or a tenth of the question's term weight, and more further down.
# Measured with the built-in embedder on English and Chinese help texts: passages unrelated to
# the question score 0 to about 0.1 (shared character trigrams), the genuine answers 0.11 and
# more. The default drops what has nothing in common with the question and keeps a 2x margin
# below the weakest genuine answer: losing the answer costs more than citing a weak passage.
# Owners raise it per bot (0.1–0.2 typically) after looking at hit testing; 0 means no minimum.
DEFAULT_SCORE_THRESHOLD = 0.05

# The visibility filter shared by both channels (see the module docstring). NOT IN over a
# subquery runs as a hashed subplan, evaluated once per statement.
_VISIBLE = sql.SQL("""
    c.knowledge_base_id = ANY(%(bases)s) AND c.enabled
    AND c.document_id NOT IN (SELECT d.id FROM knowledge_document d
                              WHERE d.workspace_id = %(workspace)s AND NOT d.enabled)
    AND c.generation NOT IN (SELECT d.pending_generation FROM knowledge_document d
                             WHERE d.workspace_id = %(workspace)s AND d.pending_generation IS NOT NULL)
""")


@dataclass(frozen=True)
class Hit:
    chunk_id: str
    document_id: str
    document_name: str
    knowledge_base_id: str
    position: int
    heading_path: tuple[str, ...]
    page: int | None
    text: str
    #: Fused score, 0–1 (1: ranked first by both channels with full relevance).
    score: float
    #: Cosine similarity to the query (None: not among the vector candidates).
    vector_score: float | None
    #: Share of the query's term weight the chunk contains, 0–1 (None: no text match).
    text_score: float | None
    vector_rank: int | None
    text_rank: int | None
    #: Whether the fused score reaches the threshold (hit testing also lists the hits below it).
    passes_threshold: bool = True

    def citation(self) -> dict:
        return {
            "document_id": self.document_id,
            "document_name": self.document_name,
            "chunk_id": self.chunk_id,
            "position": self.position,
            "page": self.page,
            "score": round(self.score, 4),
            "snippet": snippet(self.text),
        }


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


@dataclass
class ChannelReport:
    name: str
    strategy: str
    candidates: int
    ms: float


@dataclass
class SearchResult:
    hits: list[Hit]
    channels: list[ChannelReport] = field(default_factory=list)
    terms: list[str] = field(default_factory=list)
    total_ms: float = 0.0
    #: The minimum fused score that was applied (the default when the caller gave none).
    score_threshold: float = DEFAULT_SCORE_THRESHOLD

    @property
    def passing(self) -> list[Hit]:
        return [hit for hit in self.hits if hit.passes_threshold]


def effective_threshold(score_threshold: float | None) -> float:
    """The minimum fused score to apply: the default for None; 0 keeps every candidate."""
    return DEFAULT_SCORE_THRESHOLD if score_threshold is None else max(0.0, float(score_threshold))


def candidate_pool(top_k: int) -> int:
    """Candidates per channel: enough that fusion can promote items one channel ranks low."""
    return min(max(top_k * 5, 40), 250)


# -- vector channel -------------------------------------------------------------------------------------


def _vector_candidates(bases: Sequence[KnowledgeBase], query_vector, pool: int) -> tuple[list[Ranked], str]:
    dims = bases[0].embedding_dimensions
    visible_chunks = sum(base.chunk_count for base in bases)
    literal = vector_literal(query_vector, dims)
    params = {"bases": [base.pk for base in bases], "workspace": bases[0].workspace_id, "q": literal, "pool": pool}
    cast = vector_indexes.vector_type(dims)
    limit = (
        settings.KNOWLEDGE_LOCAL_EXACT_SEARCH_MAX_CHUNKS
        if bases[0].uses_local_embedder
        else settings.KNOWLEDGE_EXACT_SEARCH_MAX_CHUNKS
    )
    if visible_chunks <= limit or cast is None:
        strategy = "exact"
        # `embedding <=> q` does not match the indexes' expression: an exact scan by construction.
        query = sql.SQL(
            """SELECT c.id, c.embedding <=> %(q)s::vector AS distance FROM knowledge_chunk c
               WHERE {visible} ORDER BY distance LIMIT %(pool)s"""
        ).format(visible=_VISIBLE)
        with connection.cursor() as cursor:
            cursor.execute(query, params)
            rows = cursor.fetchall()
    else:
        strategy = "hnsw"
        # The cast and the dimension are literals so the planner matches them to the partial HNSW index.
        query = sql.SQL(
            """WITH candidates AS MATERIALIZED (
                 SELECT c.id, (c.embedding::{cast}) <=> %(q)s::{cast} AS distance FROM knowledge_chunk c
                 WHERE c.dims = {dims} AND {visible}
                 ORDER BY (c.embedding::{cast}) <=> %(q)s::{cast} LIMIT %(pool)s)
               SELECT id, distance FROM candidates ORDER BY distance"""
        ).format(cast=sql.SQL(cast), dims=sql.Literal(int(dims)), visible=_VISIBLE)
        with transaction.atomic(), connection.cursor() as cursor:
            # relaxed_order: keep walking the graph while filtered-out rows leave the result short.
            cursor.execute(
                "SELECT set_config('hnsw.ef_search', %s, true), "
                "set_config('hnsw.iterative_scan', 'relaxed_order', true), "
                "set_config('hnsw.max_scan_tuples', %s, true)",
                [str(max(settings.KNOWLEDGE_HNSW_EF_SEARCH, pool)), str(settings.KNOWLEDGE_HNSW_MAX_SCAN_TUPLES)],
            )
            cursor.execute(query, params)
            rows = cursor.fetchall()
    return [Ranked(pk, max(0.0, 1.0 - float(distance))) for pk, distance in rows], strategy


# -- text channel ---------------------------------------------------------------------------------------

_stats_lock = threading.Lock()
_stats: tuple[float, TermStats] | None = None


def term_stats() -> TermStats:
    """Lexeme frequencies from PostgreSQL's statistics of the tsvector column (cached a while)."""
    global _stats
    now = time.monotonic()
    cached = _stats
    if cached is not None and now - cached[0] < STATS_TTL_SECONDS:
        return cached[1]
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT s.most_common_elems::text::text[], s.most_common_elem_freqs::float8[],
                   (SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = 'knowledge_chunk'::regclass)
            FROM pg_stats s WHERE s.tablename = 'knowledge_chunk' AND s.attname = 'search_vector'
        """)
        row = cursor.fetchone()
        if row is None:
            cursor.execute("SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = 'knowledge_chunk'::regclass")
            stats = TermStats.empty(float(cursor.fetchone()[0]))
        else:
            stats = TermStats.from_pg_stats(row[0], row[1], float(row[2] or 0))
    with _stats_lock:
        _stats = (now, stats)
    return stats


def reset_term_stats() -> None:
    global _stats
    with _stats_lock:
        _stats = None


def query_lexemes(query: str) -> list[str]:
    """The query's lexemes as the index has them (stemmed, stop words out, CJK bigrams), in order."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT lexeme FROM unnest(to_tsvector(%s::regconfig, %s)) ORDER BY positions[1]",
            [TEXT_SEARCH_CONFIG, expand_cjk(query)],
        )
        return [row[0] for row in cursor.fetchall()]


def _text_candidates(bases: Sequence[KnowledgeBase], terms: list[WeightedTerm], pool: int) -> list[Ranked]:
    candidates = [term.lexeme for term in terms if term.candidate]
    total = sum(term.weight for term in terms)
    if not candidates or total <= 0:
        return []
    params: dict = {
        "bases": [base.pk for base in bases],
        "workspace": bases[0].workspace_id,
        "pool": pool,
        "candidates": or_query(candidates),
    }
    parts = []
    for index, term in enumerate(terms):
        params[f"t{index}"] = [term.lexeme]
        params[f"w{index}"] = term.weight / total
        parts.append(sql.SQL(f"(CASE WHEN l.lexemes @> %(t{index})s::text[] THEN %(w{index})s ELSE 0 END)"))
    # The tsvector is read once per row into an array (OFFSET 0 keeps the subquery from being
    # inlined): testing each term with @@ would decompress the stored tsvector once per term.
    query = sql.SQL(
        """SELECT c.id, {score} AS score
           FROM knowledge_chunk c
           CROSS JOIN LATERAL (SELECT tsvector_to_array(c.search_vector) AS lexemes OFFSET 0) l
           WHERE c.search_vector @@ %(candidates)s::tsquery AND {visible}
           ORDER BY score DESC, c.id LIMIT %(pool)s"""
    ).format(score=sql.SQL(" + ").join(parts), visible=_VISIBLE)
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return [Ranked(pk, float(value)) for pk, value in cursor.fetchall()]


# -- assembly -------------------------------------------------------------------------------------------


def _details(ids: list[int]) -> dict[int, tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.id, c.document_id, d.name, c.knowledge_base_id, c.position, c.heading_path, c.page, c.text
            FROM knowledge_chunk c JOIN knowledge_document d ON d.id = c.document_id
            WHERE c.id = ANY(%s)""",
            [ids],
        )
        return {row[0]: row for row in cursor.fetchall()}


def search(
    *,
    workspace_id: str,
    knowledge_base_ids: Sequence[str],
    query: str,
    top_k: int = 8,
    score_threshold: float | None = None,
    include_below_threshold: bool = False,
) -> SearchResult:
    """`retrieve` with a report of what each channel did (for hit testing).

    With `include_below_threshold`, the `top_k` best candidates come back whatever their score,
    each marked with whether it passes (hit testing shows both). The fused list is sorted by
    score, so the passing ones are exactly the hits `retrieve` gives.
    """
    started = time.perf_counter()
    query = (query or "").strip()[:MAX_QUERY_CHARS]
    top_k = min(max(int(top_k), 1), MAX_TOP_K)
    ids = [str(value) for value in dict.fromkeys(knowledge_base_ids or [])]
    threshold = effective_threshold(score_threshold)
    result = SearchResult(hits=[], score_threshold=threshold)
    if not query or not ids:
        return result
    bases = list(KnowledgeBase.objects.filter(workspace_id=workspace_id, pk__in=ids))
    if not bases:
        return result
    pool = candidate_pool(top_k)

    channels: dict[str, list[Ranked]] = {}
    groups: dict[tuple, list[KnowledgeBase]] = {}
    for base in bases:
        groups.setdefault((base.embedding_model_id, base.embedding_model_name, base.embedding_dimensions), []).append(
            base
        )
    for (model_id, model_name, dims), members in groups.items():
        began = time.perf_counter()
        model = embedding.EmbeddingModel(model_id, model_name, dims)
        vector = embedding.embed_texts(model, [query])[0]
        ranked, strategy = _vector_candidates(members, vector, pool)
        name = "vector" if len(groups) == 1 else f"vector:{model_name}"
        channels[name] = ranked
        result.channels.append(ChannelReport(name, strategy, len(ranked), (time.perf_counter() - began) * 1000))

    began = time.perf_counter()
    lexemes = query_lexemes(query)
    visible = sum(base.chunk_count for base in bases)
    stats = term_stats()
    # The candidate budget is in rows of the searched bases: scale the table-wide frequencies.
    scale = visible / stats.rows if stats.rows and visible < stats.rows else 1.0
    terms = weigh_terms(lexemes, stats, candidate_rows=int(TEXT_CANDIDATE_ROWS / max(scale, 1e-6)))
    result.terms = [term.lexeme for term in terms]
    if terms:
        channels["text"] = _text_candidates(bases, terms, pool)
        result.channels.append(
            ChannelReport("text", "full-text", len(channels["text"]), (time.perf_counter() - began) * 1000)
        )

    fused = reciprocal_rank_fusion(channels, channels_per_item=2 if terms else 1)
    if not include_below_threshold:
        fused = [entry for entry in fused if entry.score >= threshold]
    fused = fused[:top_k]
    details = _details([entry.key for entry in fused]) if fused else {}
    for entry in fused:
        row = details.get(entry.key)
        if row is None:
            continue  # deleted between the two statements
        vector_channel = next((name for name in entry.ranks if name.startswith("vector")), None)
        result.hits.append(
            Hit(
                chunk_id=chunk_public_id(row[0]),
                document_id=row[1],
                document_name=row[2],
                knowledge_base_id=row[3],
                position=row[4],
                heading_path=tuple(row[5] or ()),
                page=row[6],
                text=row[7],
                score=entry.score,
                vector_score=entry.relevances.get(vector_channel) if vector_channel else None,
                text_score=entry.relevances.get("text"),
                vector_rank=entry.ranks.get(vector_channel) if vector_channel else None,
                text_rank=entry.ranks.get("text"),
                passes_threshold=entry.score >= threshold,
            )
        )
    result.total_ms = (time.perf_counter() - started) * 1000
    return result


def retrieve(
    *,
    workspace_id: str,
    knowledge_base_ids: list[str],
    query: str,
    top_k: int = 8,
    score_threshold: float | None = None,
) -> list[Hit]:
    """The `top_k` best chunks of the given bases for `query` scoring at least the threshold
    (`DEFAULT_SCORE_THRESHOLD` when None; 0: no minimum), best first; bases of other workspaces
    are ignored. Raises embedding.EmbeddingError when a provider cannot embed the query."""
    return search(
        workspace_id=workspace_id,
        knowledge_base_ids=knowledge_base_ids,
        query=query,
        top_k=top_k,
        score_threshold=score_threshold,
    ).hits

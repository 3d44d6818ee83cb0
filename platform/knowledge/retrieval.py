"""Hybrid retrieval: pgvector (cosine) and PostgreSQL full-text search, fused by weighted reciprocal rank.

    hits = retrieve(workspace_id=…, knowledge_base_ids=[…], query="How do refunds work?", top_k=8)
    [hit.citation() for hit in hits]

Per query:

1. The bases are checked against the workspace and grouped by embedding model; the query is
   embedded once per model.
2. Vector channel, per model: a base set of up to `SWITCHBOARD_KNOWLEDGE_EXACT_SEARCH_MAX_CHUNKS`
   chunks (`…_LOCAL_EXACT_SEARCH_MAX_CHUNKS` for the built-in lexical embedder, whose hashed
   vectors a filtered graph scan serves less well) is searched exactly (every vector compared: perfect
   recall, a few milliseconds per 10,000 chunks); larger sets go through the HNSW index of that
   dimension (`ef_search` 400 by default) with pgvector's iterative scan, which keeps scanning
   the graph until enough rows pass the filters, so a filter to a few bases does not starve the
   result. Documents still embedded by a base's previous model (`embedding_stale`) are left out
   of this channel until they are re-indexed.
3. Text channel: the query's lexemes (CJK as bigrams, each half a word), weighted by inverse
   document frequency — counted in the searched bases when they hold up to
   `TERM_COUNT_MAX_CHUNKS` chunks or the table has no statistics yet, from PostgreSQL's
   statistics otherwise; candidates from its rarer terms through the GIN index, ranked by the
   share of the query's weight they contain. The same channel also searches the query's
   dictionary translation (Chinese words → English senses, English words → Chinese words; see
   knowledge.crosslingual), one group of alternatives per source word with its own weight: a
   chunk scores the better of its share of the query's weight and `TRANSLATED_WEIGHT` times its
   share of the translation's, so passages in the other language are found too. When no
   translation occurs in the searched bases (counted up to `TERM_COUNT_MAX_CHUNKS` chunks), the
   translation is left out.
4. Weighted reciprocal rank fusion of the channels (candidate pools several times `top_k`) with
   each base's channel weights and rank constant, each vote weighted by the channel's normalised
   relevance (see knowledge.fusion); the minimum score applies to the fused score: the caller's,
   else the base's `min_score`, else `DEFAULT_SCORE_THRESHOLD` (so passages unrelated to the
   question are neither given to a model nor cited; an explicit 0 keeps every candidate).
5. Optionally (a base with a rerank model), a provider's `/rerank` endpoint reorders the best
   fused candidates (see knowledge.rerank); the minimum score still applies to the fused score,
   so it means the same with and without reranking. A reranker that fails leaves the fused order
   and says why in the report.

Bad queries: longer than `MAX_QUERY_CHARS` is refused (`InvalidInput`, code `query_too_long`);
one with no letter or digit (only emoji or punctuation) returns no hits and a `reason`.

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
from django.db import connection
from psycopg import sql

from knowledge import crosslingual, embedding, neural_embedder, rerank, vector_indexes
from knowledge.chunk_store import vector_literal
from knowledge.fusion import VECTOR_SPAN, Fused, Ranked, vector_relevances, weighted_fusion
from knowledge.models import TEXT_SEARCH_CONFIG, KnowledgeBase, chunk_public_id
from knowledge.search_text import (
    MAX_QUERY_TERMS,
    TermGroup,
    TermStats,
    WeightedTerm,
    any_of_query,
    expand_cjk,
    group_frequency,
    is_searchable,
    or_query,
    tsquery_literal,
    weigh_terms,
)
from providers import local_embedder
from switchboard.errors import InvalidInput

logger = logging.getLogger(__name__)

MAX_QUERY_CHARS = 4000
MAX_TOP_K = 100
SNIPPET_CHARS = 200
TEXT_CANDIDATE_ROWS = 2000
STATS_TTL_SECONDS = 300.0
# Up to this many visible chunks, the query terms' document frequencies are counted in the
# searched bases (a few index probes; exact, and independent of when the table was analysed).
TERM_COUNT_MAX_CHUNKS = 50_000
# Counting stops here: a term in more rows than this is common whatever the exact number.
TERM_COUNT_CAP = 1_000
# What an unrelated passage's cosine similarity is with each built-in embedder (the median over
# the evaluation set's question/passage pairs that do not belong together, bench/retrieval_eval);
# used when a base is too small to measure it per query.
NOMINAL_BACKGROUND = {neural_embedder.NAME: 0.09, local_embedder.NAME: 0.0}
# The share of the room above the background that counts as full relevance (see knowledge.fusion).
VECTOR_SPANS = {local_embedder.NAME: 1.0}
NO_SEARCHABLE_TEXT = "The query has no letters or digits to search for."
# What a passage containing the whole translated query (knowledge.crosslingual) counts for in the
# text channel, as a share of one containing the whole question: a dictionary translation is a
# guess among senses, so it counts half, as a CJK bigram counts half a word. A passage with half
# the question's own term weight therefore ties one with all of the translated query's. Chosen
# before measuring; bench/README.md has what 0.25 and 1 give.
TRANSLATED_WEIGHT = 0.5

# What a new base starts with as its minimum score (`KnowledgeBase.min_score`). Measured on the
# evaluation set with the default embedder and fusion: at 0.08, 93 % of the questions whose answer
# is found keep it, and 1 of 22 off-topic questions still gets a passage (7 of 22 at 0.05).
RECOMMENDED_MIN_SCORE = 0.08

# The minimum fused score when neither the caller nor the base sets one (bases made before bases
# had their own). Without it every
# candidate up to top_k came back, down to passages with no similarity and no word of the
# question, and the model was handed (and cited) them. A passage ranked first in one of two
# equally weighted channels scores half its relevance there, so 0.05 asks for about 0.1 of
# normalised relevance in one channel (cosine above the embedder's background, or a tenth of the
# question's term weight), and more further down. Losing the answer costs more than citing a weak
# passage, so it stays low; owners raise it per base or per bot after looking at hit testing
# (bench/retrieval_eval prints what each value keeps and lets through); 0 means no minimum.
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


_HNSW_SETTINGS = sql.SQL("""
    SELECT set_config('hnsw.ef_search', %(ef_search)s, true),
           set_config('hnsw.iterative_scan', 'relaxed_order', true),
           set_config('hnsw.max_scan_tuples', %(max_scan)s, true)
""")

# What a search reads of each base (the rest, such as dates and descriptions, would only be parsed).
_SEARCHED_BASE_FIELDS = (
    "workspace_id",
    "embedding_model_id",
    "embedding_model_name",
    "embedding_dimensions",
    "chunk_count",
    "vector_weight",
    "text_weight",
    "fusion_k",
    "min_score",
    "rerank_provider_id",
    "rerank_model",
)


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
    #: Fused score, 0–1 (1: ranked first by every channel with full relevance).
    score: float
    #: Cosine similarity to the query (None: not among the vector candidates).
    vector_score: float | None
    #: Share of the query's term weight the chunk contains, 0–1 (None: no text match).
    text_score: float | None
    vector_rank: int | None
    text_rank: int | None
    #: Whether the fused score reaches the threshold (hit testing also lists the hits below it).
    passes_threshold: bool = True
    #: The reranker's relevance, 0–1 (None: not reranked).
    rerank_score: float | None = None

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
    error: str = ""


@dataclass
class SearchResult:
    hits: list[Hit]
    channels: list[ChannelReport] = field(default_factory=list)
    terms: list[str] = field(default_factory=list)
    #: The words of the query translated for the text channel ("退款 → refund"; see knowledge.crosslingual).
    translations: list[str] = field(default_factory=list)
    total_ms: float = 0.0
    #: The minimum fused score that was applied (the first base's, when bases differ).
    score_threshold: float = DEFAULT_SCORE_THRESHOLD
    #: Why there are no hits although the query was accepted (None: it was searched).
    reason: str | None = None
    reranked: bool = False

    @property
    def passing(self) -> list[Hit]:
        return [hit for hit in self.hits if hit.passes_threshold]


def effective_threshold(score_threshold: float | None, base: KnowledgeBase | None = None) -> float:
    """The minimum fused score to apply: the caller's, else the base's, else the default; 0 keeps all."""
    if score_threshold is None and base is not None and base.min_score is not None:
        score_threshold = base.min_score
    return DEFAULT_SCORE_THRESHOLD if score_threshold is None else max(0.0, float(score_threshold))


def candidate_pool(top_k: int) -> int:
    """Candidates per channel: enough that fusion can promote items one channel ranks low."""
    return min(max(top_k * 5, 40), 250)


def check_query(query: str) -> str:
    """The query stripped, or InvalidInput when it is too long to be a question."""
    query = (query or "").strip()
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidInput(
            f"The query is {len(query):,} characters long; the limit is {MAX_QUERY_CHARS:,}. "
            "Ask with the question itself rather than a whole document.",
            code="query_too_long",
            param="query",
        )
    return query


# -- vector channel -------------------------------------------------------------------------------------


def nominal_background(model: embedding.EmbeddingModel) -> float:
    return NOMINAL_BACKGROUND.get(model.name, 0.0) if model.is_local else 0.0


def _vector_candidates(
    bases: Sequence[KnowledgeBase],
    model: embedding.EmbeddingModel,
    query_vector,
    pool: int,
    base_of: dict[int, str] | None = None,
) -> tuple[list[Ranked], str, dict[int, float]]:
    """The nearest chunks with their normalised relevance, the strategy, and their cosine
    similarities; `base_of` (when given) gets each candidate's knowledge base."""
    dims = model.dimensions
    visible_chunks = sum(base.chunk_count for base in bases)
    literal = vector_literal(query_vector, dims)
    params = {"bases": [base.pk for base in bases], "workspace": bases[0].workspace_id, "q": literal, "pool": pool}
    cast = vector_indexes.vector_type(dims)
    # The lexical embedder's hashed vectors have many near-ties, which a filtered graph scan serves
    # less well: they are searched exactly further. Neural vectors (built in or a provider's) are not.
    limit = (
        settings.KNOWLEDGE_LOCAL_EXACT_SEARCH_MAX_CHUNKS
        if model.is_local and model.name == local_embedder.NAME
        else settings.KNOWLEDGE_EXACT_SEARCH_MAX_CHUNKS
    )
    # Chunks of documents awaiting re-embedding hold another model's vectors (maybe of another
    # dimension): they answer through the text channel only.
    current = sql.SQL("""
        c.dims = {dims} AND c.document_id NOT IN (SELECT d.id FROM knowledge_document d
                              WHERE d.workspace_id = %(workspace)s AND d.embedding_stale)
    """).format(dims=sql.Literal(int(dims)))
    if visible_chunks <= limit or cast is None:
        strategy = "exact"
        # `embedding <=> q` does not match the indexes' expression: an exact scan by construction.
        query = sql.SQL(
            """SELECT c.id, c.embedding <=> %(q)s::vector AS distance, c.knowledge_base_id FROM knowledge_chunk c
               WHERE {visible} AND {current} ORDER BY distance LIMIT %(pool)s"""
        ).format(visible=_VISIBLE, current=current)
        with connection.cursor() as cursor:
            cursor.execute(query, params)
            rows = cursor.fetchall()
    else:
        strategy = "hnsw"
        # The cast and the dimension are literals so the planner matches them to the partial HNSW index.
        query = sql.SQL(
            """WITH candidates AS MATERIALIZED (
                 SELECT c.id, (c.embedding::{cast}) <=> %(q)s::{cast} AS distance, c.knowledge_base_id
                 FROM knowledge_chunk c
                 WHERE {visible} AND {current}
                 ORDER BY (c.embedding::{cast}) <=> %(q)s::{cast} LIMIT %(pool)s)
               SELECT id, distance, knowledge_base_id FROM candidates ORDER BY distance"""
        ).format(cast=sql.SQL(cast), visible=_VISIBLE, current=current)
        params["ef_search"] = str(max(settings.KNOWLEDGE_HNSW_EF_SEARCH, pool))
        params["max_scan"] = str(settings.KNOWLEDGE_HNSW_MAX_SCAN_TUPLES)
        # The settings are local to the transaction, and both statements are sent as one query
        # string, which PostgreSQL runs as one implicit transaction: one round trip instead of
        # BEGIN, SET, SELECT and COMMIT. (Django binds parameters on the client, which allows
        # several statements in one string; the database option `server_side_binding` would not.)
        # relaxed_order: keep walking the graph while filtered-out rows leave the result short.
        with connection.cursor() as cursor:
            cursor.execute(sql.SQL("{settings}; {query}").format(settings=_HNSW_SETTINGS, query=query), params)
            cursor.nextset()
            rows = cursor.fetchall()
    if base_of is not None:
        base_of.update((row[0], row[2]) for row in rows)
    similarities = [1.0 - float(row[1]) for row in rows]
    span = VECTOR_SPANS.get(model.name, VECTOR_SPAN) if model.is_local else VECTOR_SPAN
    relevances = vector_relevances(similarities, pool=pool, nominal=nominal_background(model), span=span)
    ranked = [Ranked(row[0], rel) for row, rel in zip(rows, relevances, strict=True)]
    return ranked, strategy, {row[0]: sim for row, sim in zip(rows, similarities, strict=True)}


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
    return analyse(query, [])[0]


def analyse(query: str, texts: Sequence[str]) -> tuple[list[str], list[tuple[str, ...]]]:
    """The query's lexemes in order (as `query_lexemes`) and each text's (sorted; empty for stop
    words only), as the index has them, in one statement."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT 0, coalesce((SELECT array_agg(u.lexeme ORDER BY u.positions[1])
                                   FROM unnest(to_tsvector(%(config)s::regconfig, %(query)s)) u), '{}')
               UNION ALL
               SELECT t.i, coalesce((SELECT array_agg(DISTINCT u.lexeme)
                                     FROM unnest(to_tsvector(%(config)s::regconfig, t.txt)) u), '{}')
               FROM unnest(%(texts)s::text[]) WITH ORDINALITY AS t(txt, i)
               ORDER BY 1""",
            {"config": TEXT_SEARCH_CONFIG, "query": expand_cjk(query), "texts": [expand_cjk(text) for text in texts]},
        )
        rows = cursor.fetchall()
    return list(rows[0][1]), [tuple(sorted(row[1])) for row in rows[1:]]


def term_frequencies(
    bases: Sequence[KnowledgeBase], lexemes: Sequence[str], visible: int, queries: Sequence[str] | None = None
) -> dict[str, float]:
    """The share of the bases' chunks containing each lexeme (or matching each of `queries`, one
    tsquery per key of `lexemes`), counted through the GIN index (up to `TERM_COUNT_CAP` rows
    each). Counted per search, so it needs no ANALYZE of the table."""
    if not lexemes or visible <= 0:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT t.lexeme, (SELECT count(*) FROM (
                   SELECT 1 FROM knowledge_chunk c
                   WHERE c.knowledge_base_id = ANY(%(bases)s) AND c.search_vector @@ t.query::tsquery
                   LIMIT %(cap)s) s)
               FROM unnest(%(lexemes)s::text[], %(queries)s::text[]) AS t(lexeme, query)""",
            {
                "bases": [base.pk for base in bases],
                "cap": TERM_COUNT_CAP,
                "lexemes": list(lexemes),
                "queries": list(queries) if queries is not None else [tsquery_literal(lexeme) for lexeme in lexemes],
            },
        )
        # Chunks of pending runs are counted too (at most one extra copy of a document): harmless.
        return {lexeme: min(1.0, count / visible) for lexeme, count in cursor.fetchall()}


def weighted_query_terms(
    bases: Sequence[KnowledgeBase],
    query: str,
    counted_out: dict[str, float] | None = None,
    lexemes: list[str] | None = None,
) -> list[WeightedTerm]:
    """The query's terms with their weights; `counted_out` (when given) gets the frequencies
    counted. `lexemes`: the query's, when they were analysed already."""
    lexemes = query_lexemes(query) if lexemes is None else lexemes
    if not lexemes:
        return []
    visible = sum(base.chunk_count for base in bases)
    stats = term_stats()
    if visible <= TERM_COUNT_MAX_CHUNKS or not stats.frequencies:
        counted = term_frequencies(bases, lexemes[:MAX_QUERY_TERMS], max(visible, 1))
        if counted_out is not None:
            counted_out.update(counted)
        return weigh_terms(
            lexemes, TermStats.empty(float(visible)), candidate_rows=TEXT_CANDIDATE_ROWS, frequencies=counted
        )
    # The candidate budget is in rows of the searched bases: scale the table-wide frequencies.
    scale = visible / stats.rows if stats.rows and visible < stats.rows else 1.0
    return weigh_terms(lexemes, stats, candidate_rows=int(TEXT_CANDIDATE_ROWS / max(scale, 1e-6)))


@dataclass
class TranslatedQuery:
    """The query's dictionary translation as weighted groups of lexemes (see knowledge.crosslingual)."""

    groups: list[TermGroup] = field(default_factory=list)
    terms: list[WeightedTerm] = field(default_factory=list)
    #: "source → translation, …" per translated word, for hit testing.
    shown: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.groups)


def translation_texts(translation: crosslingual.Translation) -> list[str]:
    """Every alternative of every word of a translated query, in order (what `analyse` takes)."""
    return [text for group in translation.groups for text in group.alternatives]


def occurring(bases: Sequence[KnowledgeBase], alternatives: Sequence[tuple[str, ...]]) -> set[tuple[str, ...]]:
    """The alternatives some chunk of the bases contains (all their lexemes): one GIN probe each,
    stopping at the first chunk, in one statement."""
    if not alternatives:
        return set()
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT t.i FROM unnest(%(queries)s::text[]) WITH ORDINALITY AS t(query, i)
               WHERE EXISTS (SELECT 1 FROM knowledge_chunk c
                             WHERE c.knowledge_base_id = ANY(%(bases)s) AND c.search_vector @@ t.query::tsquery)""",
            {"bases": [base.pk for base in bases], "queries": [any_of_query([alt]) for alt in alternatives]},
        )
        return {alternatives[row[0] - 1] for row in cursor.fetchall()}


def translated_query_terms(
    bases: Sequence[KnowledgeBase],
    translation: crosslingual.Translation,
    alternatives: list[tuple[str, ...]],
    counted: dict[str, float] | None = None,
) -> TranslatedQuery:
    """The translated query's groups with IDF weights (empty when nothing in it translates, or when
    no translation occurs in the searched bases). Translations no chunk of the bases contains are
    left out of the groups (they could match nothing); a word none of whose alternatives occurs
    still weighs, as a word of the question found nowhere does. `counted`: the frequencies of the
    question's own lexemes, when they were counted (not counted again). `alternatives`: the
    lexemes of the translation's `translation_texts` (see `analyse`)."""
    if not translation.has_translation:
        return TranslatedQuery()
    lexemes = iter(alternatives)
    found = [[(next(lexemes), text) for text in group.alternatives] for group in translation.groups]
    # Whether each translation occurs: a lexeme among the table's most common ones does (no probe:
    # a GIN probe of a frequent lexeme reads all its rows); the others are probed.
    stats = term_stats()
    translations = {alt for group in found for alt, _ in group[1:] if alt and alt != group[0][0]}
    common = {alt for alt in translations if all(lexeme in stats.frequencies for lexeme in alt)}
    present = common | occurring(bases, sorted(translations - common))
    if not present:
        return TranslatedQuery()  # no translation occurs in these bases: the question's own terms say it all
    groups: list[TermGroup] = []
    every: dict[str, list[tuple[str, ...]]] = {}
    shown: list[str] = []
    for index, (group, alternatives) in enumerate(zip(translation.groups, found, strict=True)):
        own = alternatives[0][0]
        if not any(alt for alt, _ in alternatives):
            continue  # stop words only
        kept = [(alt, text) for alt, text in alternatives[1:] if alt in present and alt != own]
        key = f"g{index}"
        matching = tuple(dict.fromkeys([own] if own else []) | dict.fromkeys(alt for alt, _ in kept))
        groups.append(TermGroup(key, matching, tuple(dict.fromkeys(alt for alt, _ in kept))))
        every[key] = [alt for alt, _ in alternatives if alt]
        if kept:
            shown.append(f"{group.source} → {', '.join(dict.fromkeys(text for _, text in kept))}")
    visible = sum(base.chunk_count for base in bases)
    if visible <= TERM_COUNT_MAX_CHUNKS or not stats.frequencies:
        known = counted or {}
        unique = list(dict.fromkeys(alt for group in groups for alt in group.alternatives))
        missing = [alt for alt in unique if not (len(alt) == 1 and alt[0] in known)]
        keys = [" ".join(alt) for alt in missing]
        fresh = term_frequencies(bases, keys, max(visible, 1), [any_of_query([alt]) for alt in missing])
        frequency = {alt: fresh.get(key, 0.0) for alt, key in zip(missing, keys, strict=True)}
        frequency.update({alt: known[alt[0]] for alt in unique if alt not in frequency})
        frequencies = {group.key: min(1.0, sum(frequency[alt] for alt in group.alternatives)) for group in groups}
        counts, rows = TermStats.empty(float(visible)), TEXT_CANDIDATE_ROWS
    else:
        scale = visible / stats.rows if stats.rows and visible < stats.rows else 1.0
        frequencies = {
            group.key: group_frequency(TermGroup(group.key, tuple(every[group.key])), stats) for group in groups
        }
        counts, rows = stats, int(TEXT_CANDIDATE_ROWS / max(scale, 1e-6))
    terms = weigh_terms(
        [group.key for group in groups], counts, candidate_rows=rows, frequencies=frequencies, halve_bigrams=False
    )
    return TranslatedQuery(groups, terms, shown)


def _text_candidates(
    bases: Sequence[KnowledgeBase],
    terms: list[WeightedTerm],
    pool: int,
    base_of: dict[int, str] | None = None,
    translated: TranslatedQuery | None = None,
) -> list[Ranked]:
    """Chunks by the share of the query's term weight they contain, or by `TRANSLATED_WEIGHT` times
    the share of the translated query's, whichever is higher."""
    candidates = [term.lexeme for term in terms if term.candidate]
    total = sum(term.weight for term in terms)
    groups = {group.key: group for group in translated.groups} if translated else {}
    translated_terms = translated.terms if translated else []
    translated_total = sum(term.weight for term in translated_terms)
    selectors = [or_query(candidates)] if candidates and total > 0 else []
    if translated_total > 0:
        selectors += [
            any_of_query(groups[term.lexeme].selecting)
            for term in translated_terms
            if term.candidate and groups[term.lexeme].selecting
        ]
    if not selectors:
        return []
    params: dict = {
        "bases": [base.pk for base in bases],
        "workspace": bases[0].workspace_id,
        "pool": pool,
        "candidates": " | ".join(f"({selector})" for selector in selectors),
    }
    parts = [sql.SQL("0")]
    for index, term in enumerate(terms if total > 0 else []):
        params[f"t{index}"] = [term.lexeme]
        params[f"w{index}"] = term.weight / total
        parts.append(sql.SQL(f"(CASE WHEN l.lexemes @> %(t{index})s::text[] THEN %(w{index})s::float8 ELSE 0 END)"))
    translated_parts = [sql.SQL("0")]
    for index, term in enumerate(translated_terms if translated_total > 0 else []):
        if not groups[term.lexeme].alternatives:
            continue  # found in no chunk of the bases: it weighs, and matches nothing
        tests = []
        for number, lexemes in enumerate(groups[term.lexeme].alternatives):
            params[f"x{index}_{number}"] = list(lexemes)
            tests.append(sql.SQL(f"l.lexemes @> %(x{index}_{number})s::text[]"))
        params[f"v{index}"] = TRANSLATED_WEIGHT * term.weight / translated_total
        translated_parts.append(
            sql.SQL("(CASE WHEN {tests} THEN %(v{index})s::float8 ELSE 0 END)").format(
                tests=sql.SQL(" OR ").join(tests), index=sql.SQL(str(index))
            )
        )
    # The tsvector is read once per row into an array (OFFSET 0 keeps the subquery from being
    # inlined): testing each term with @@ would decompress the stored tsvector once per term. The
    # weights are cast to float8: as bare literals they would be numerics, slower to add per row.
    query = sql.SQL(
        """SELECT c.id, greatest({score}, {translated}) AS score, c.knowledge_base_id
           FROM knowledge_chunk c
           CROSS JOIN LATERAL (SELECT tsvector_to_array(c.search_vector) AS lexemes OFFSET 0) l
           WHERE c.search_vector @@ %(candidates)s::tsquery AND {visible}
           ORDER BY score DESC, c.id LIMIT %(pool)s"""
    ).format(score=sql.SQL(" + ").join(parts), translated=sql.SQL(" + ").join(translated_parts), visible=_VISIBLE)
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        rows = cursor.fetchall()
    if base_of is not None:
        base_of.update((row[0], row[2]) for row in rows)
    return [Ranked(row[0], float(row[1])) for row in rows]


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


def _fusion_key(base: KnowledgeBase) -> tuple[float, float, int]:
    return (float(base.vector_weight), float(base.text_weight), int(base.fusion_k))


def _fuse(
    channels: dict[str, list[Ranked]],
    bases: Sequence[KnowledgeBase],
    base_of: dict,
    has_text: bool,
) -> list[Fused]:
    """Fuse with each base's weights and constant: once per distinct setting, each item scored by its base's."""
    groups: dict[tuple[float, float, int], set[str]] = {}
    for base in bases:
        groups.setdefault(_fusion_key(base), set()).add(base.pk)
    fused: list[Fused] = []
    for (vector_weight, text_weight, k), members in groups.items():
        total = vector_weight + (text_weight if has_text else 0.0)
        if total <= 0:
            continue
        entries = weighted_fusion(
            channels,
            weights={"vector": vector_weight, "text": text_weight},
            k=k,
            total_weight=total,
        )
        fused.extend(entry for entry in entries if base_of.get(entry.key) in members)
    if len(groups) > 1:
        fused.sort(key=lambda entry: -entry.score)
    return fused


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
    each marked with whether it passes (hit testing shows both). Without reranking the fused list
    is sorted by score, so the passing ones are exactly the hits `retrieve` gives.
    """
    started = time.perf_counter()
    query = check_query(query)
    top_k = min(max(int(top_k), 1), MAX_TOP_K)
    ids = [str(value) for value in dict.fromkeys(knowledge_base_ids or [])]
    result = SearchResult(hits=[], score_threshold=effective_threshold(score_threshold))
    if not query or not ids:
        return result
    if not is_searchable(query):
        result.reason = NO_SEARCHABLE_TEXT
        return result
    searched = KnowledgeBase.objects.filter(workspace_id=workspace_id, pk__in=ids).only(*_SEARCHED_BASE_FIELDS)
    found = {base.pk: base for base in searched.order_by()}
    bases = [found[pk] for pk in ids if pk in found]
    if not bases:
        return result
    thresholds = {base.pk: effective_threshold(score_threshold, base) for base in bases}
    result.score_threshold = thresholds[bases[0].pk]
    pool = candidate_pool(top_k)

    channels: dict[str, list[Ranked]] = {}
    cosines: dict[int, float] = {}
    base_of: dict[int, str] = {}
    groups: dict[tuple, list[KnowledgeBase]] = {}
    for base in bases:
        groups.setdefault((base.embedding_model_id, base.embedding_model_name, base.embedding_dimensions), []).append(
            base
        )
    for (model_id, model_name, dims), members in groups.items():
        began = time.perf_counter()
        model = embedding.EmbeddingModel(model_id, model_name, dims)
        vector = embedding.embed_texts(model, [query])[0]
        ranked, strategy, sims = _vector_candidates(members, model, vector, pool, base_of)
        cosines.update(sims)
        name = "vector" if len(groups) == 1 else f"vector:{model_name}"
        channels[name] = ranked
        result.channels.append(ChannelReport(name, strategy, len(ranked), (time.perf_counter() - began) * 1000))

    began = time.perf_counter()
    counted: dict[str, float] = {}
    # The question and its translation are analysed in one statement.
    translation = crosslingual.translate(query)
    texts = translation_texts(translation) if translation.has_translation else []
    lexemes, alternatives = analyse(query, texts)
    terms = weighted_query_terms(bases, query, counted, lexemes=lexemes)
    translated = translated_query_terms(bases, translation, alternatives, counted)
    result.terms = [term.lexeme for term in terms]
    result.translations = translated.shown
    if terms or translated:
        channels["text"] = _text_candidates(bases, terms, pool, base_of, translated)
        strategy = "full-text + translated" if translated else "full-text"
        result.channels.append(ChannelReport("text", strategy, len(channels["text"]), _ms(began)))

    fused = _fuse(channels, bases, base_of, bool(terms or translated))
    if not include_below_threshold:
        fused = [entry for entry in fused if entry.score >= thresholds.get(base_of.get(entry.key), 0.0)]

    reranker = next((base for base in bases if base.reranks), None)
    rerank_scores: dict = {}
    if reranker is not None and fused:
        began = time.perf_counter()
        shortlist = fused[: rerank.candidate_count(top_k)]
        texts = _details([entry.key for entry in shortlist])
        try:
            documents = [texts[entry.key][7] if entry.key in texts else "" for entry in shortlist]
            scores = rerank.rerank(reranker, query=query, documents=documents)
        except rerank.RerankError as exc:
            result.channels.append(ChannelReport("rerank", reranker.rerank_model, 0, _ms(began), error=exc.message))
        else:
            rerank_scores = {entry.key: score for entry, score in zip(shortlist, scores, strict=True)}
            order = sorted(range(len(shortlist)), key=lambda i: (-scores[i], i))
            fused = [shortlist[i] for i in order] + fused[len(shortlist) :]
            result.reranked = True
            result.channels.append(ChannelReport("rerank", reranker.rerank_model, len(shortlist), _ms(began)))

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
                vector_score=cosines.get(entry.key) if vector_channel else None,
                text_score=entry.relevances.get("text"),
                vector_rank=entry.ranks.get(vector_channel) if vector_channel else None,
                text_rank=entry.ranks.get("text"),
                passes_threshold=entry.score >= thresholds.get(row[3], DEFAULT_SCORE_THRESHOLD),
                rerank_score=rerank_scores.get(entry.key),
            )
        )
    result.total_ms = _ms(started)
    return result


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000


def retrieve(
    *,
    workspace_id: str,
    knowledge_base_ids: list[str],
    query: str,
    top_k: int = 8,
    score_threshold: float | None = None,
) -> list[Hit]:
    """The `top_k` best chunks of the given bases for `query` scoring at least the threshold
    (the base's minimum score, else `DEFAULT_SCORE_THRESHOLD`, when None; 0: no minimum), best
    first; bases of other workspaces are ignored. Raises embedding.EmbeddingError when the query
    cannot be embedded, InvalidInput when it is too long."""
    return search(
        workspace_id=workspace_id,
        knowledge_base_ids=knowledge_base_ids,
        query=query,
        top_k=top_k,
        score_threshold=score_threshold,
    ).hits

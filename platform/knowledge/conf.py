"""Knowledge-base settings, read from the environment through switchboard.config.

Read once per process (`get()`); tests that change the environment call `get.cache_clear()`.
Every variable is listed in the README with its default.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from switchboard import config

MB = 1024 * 1024


@dataclass(frozen=True)
class KnowledgeSettings:
    #: Largest file accepted by upload or import by URL.
    max_upload_bytes: int
    #: Largest total a .docx/.xlsx may declare when unpacked (zip-bomb guard).
    max_unzipped_bytes: int
    max_pdf_pages: int
    max_table_rows: int
    #: Hosts/networks that document import by URL may reach although they are private, in every
    #: workspace, on top of each workspace's network allowlist (egress allowlist syntax).
    url_allowlist: tuple[str, ...]
    #: Texts per request to a provider's embedding endpoint.
    embed_batch_size: int
    #: Up to this many chunks in the searched bases, vector search is exact (no index): perfect
    #: recall, and faster than a filtered HNSW scan at that size.
    exact_search_max_chunks: int
    #: The same for bases on the built-in local embedder, whose lexical vectors HNSW indexes
    #: poorly (see the benchmark notes): exact search is worth more time there.
    local_exact_search_max_chunks: int
    #: HNSW candidate list size for approximate vector search. 400 keeps recall@10 above 0.95
    #: over 100,000 chunks of prose with the built-in embedder (0.93 at 100) for ~6 ms more.
    hnsw_ef_search: int
    #: Most index tuples one filtered (iterative) HNSW scan may visit.
    hnsw_max_scan_tuples: int
    #: Hard time limit of one document's ingestion.
    ingest_time_limit_seconds: int
    #: First wait before retrying a document after a provider's rate limit or outage (doubles).
    retry_delay_seconds: int


@lru_cache(maxsize=1)
def get() -> KnowledgeSettings:
    return KnowledgeSettings(
        max_upload_bytes=config.env_int("SWITCHBOARD_MAX_UPLOAD_MB", 50, minimum=1, maximum=4096) * MB,
        max_unzipped_bytes=config.env_int("SWITCHBOARD_KNOWLEDGE_MAX_UNZIPPED_MB", 256, minimum=1) * MB,
        max_pdf_pages=config.env_int("SWITCHBOARD_KNOWLEDGE_MAX_PDF_PAGES", 2000, minimum=1),
        max_table_rows=config.env_int("SWITCHBOARD_KNOWLEDGE_MAX_TABLE_ROWS", 100_000, minimum=1),
        url_allowlist=tuple(config.env_list("SWITCHBOARD_KNOWLEDGE_URL_ALLOWLIST", [])),
        embed_batch_size=config.env_int("SWITCHBOARD_KNOWLEDGE_EMBED_BATCH", 64, minimum=1, maximum=2048),
        exact_search_max_chunks=config.env_int("SWITCHBOARD_KNOWLEDGE_EXACT_SEARCH_MAX_CHUNKS", 20_000,
                                               minimum=0),
        local_exact_search_max_chunks=config.env_int("SWITCHBOARD_KNOWLEDGE_LOCAL_EXACT_SEARCH_MAX_CHUNKS",
                                                     50_000, minimum=0),
        hnsw_ef_search=config.env_int("SWITCHBOARD_KNOWLEDGE_HNSW_EF_SEARCH", 400, minimum=10, maximum=1000),
        hnsw_max_scan_tuples=config.env_int("SWITCHBOARD_KNOWLEDGE_HNSW_MAX_SCAN_TUPLES", 50_000,
                                            minimum=1000),
        ingest_time_limit_seconds=config.env_int("SWITCHBOARD_KNOWLEDGE_INGEST_TIME_LIMIT", 1800, minimum=10),
        retry_delay_seconds=config.env_int("SWITCHBOARD_KNOWLEDGE_RETRY_DELAY", 10, minimum=1),
    )

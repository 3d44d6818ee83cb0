"""Every write of chunks in SQL: the bulk insert, deletes, a re-embedded chunk's update, the indexes.

Bulk writes go by binary COPY into a temporary table, then one INSERT … SELECT.

COPY is the fastest way into PostgreSQL; going through a temporary table lets PostgreSQL compute
each chunk's tsvector (`to_tsvector`, with the heading path weighted above the body) in the same
statement that inserts the rows, so no text is stored twice and no row is updated after insert
(an update would insert it into the HNSW index a second time).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
from django.db import connection, transaction
from pgvector import Vector
from psycopg.adapt import Dumper
from psycopg.pq import Format

from knowledge import vector_indexes
from knowledge.models import TEXT_SEARCH_CONFIG

_LOAD_TABLE = """
CREATE TEMP TABLE IF NOT EXISTS knowledge_chunk_load (
    position integer, heading_path text[], page integer, text text, token_count integer,
    embedding vector, heading_search text, body_search text
) ON COMMIT DELETE ROWS
"""
_COPY = (
    "COPY knowledge_chunk_load (position, heading_path, page, text, token_count, embedding, "
    "heading_search, body_search) FROM STDIN (FORMAT BINARY)"
)
_INSERT = """
INSERT INTO knowledge_chunk (workspace_id, knowledge_base_id, document_id, generation, position, heading_path,
                             page, text, token_count, enabled, dims, embedding, search_vector)
SELECT %s, %s, %s, %s, position, heading_path, page, text, token_count, true, %s, embedding,
       setweight(to_tsvector(%s::regconfig, heading_search), 'A')
       || to_tsvector(%s::regconfig, body_search)
FROM knowledge_chunk_load ORDER BY position
"""


@dataclass(frozen=True)
class ChunkRow:
    position: int
    heading_path: Sequence[str]
    page: int | None
    text: str
    token_count: int
    #: Text for the tsvector (CJK already expanded to bigrams): heading path and body.
    heading_search: str
    body_search: str


@cache
def _vector_dumper(oid: int) -> type[Dumper]:
    class VectorBinaryDumper(Dumper):
        format = Format.BINARY

        def dump(self, obj):
            return Vector(obj).to_binary()

    VectorBinaryDumper.oid = oid
    return VectorBinaryDumper


def _vector_oid(cursor) -> int:
    # Per connection cache: a new connection (pool, tests) may sit on another database.
    raw = cursor.connection
    oid = getattr(raw, "_knowledge_vector_oid", None)
    if oid is None:
        cursor.execute("SELECT 'vector'::regtype::oid")
        oid = cursor.fetchone()[0]
        with contextlib.suppress(AttributeError):  # a connection that takes no attributes: look it up each time
            raw._knowledge_vector_oid = oid
    return oid


def write_chunks(
    *,
    workspace_id: str,
    knowledge_base_id: str,
    document_id: str,
    generation: int,
    dims: int,
    rows: Sequence[ChunkRow],
    vectors: np.ndarray,
) -> None:
    """Insert `rows` with their `vectors` (same order) in one transaction."""
    if len(rows) != len(vectors):
        raise ValueError("one vector per chunk is needed")
    if not rows:
        return
    vectors = np.asarray(vectors, dtype=np.float32)
    with transaction.atomic(), connection.cursor() as wrapper:
        cursor = wrapper.cursor  # the psycopg cursor: COPY and a cursor-local dumper
        oid = _vector_oid(cursor)
        cursor.adapters.register_dumper(np.ndarray, _vector_dumper(oid))
        cursor.execute(_LOAD_TABLE)
        with cursor.copy(_COPY) as copy:
            copy.set_types(["int4", "text[]", "int4", "text", "int4", oid, "text", "text"])
            for row, vector in zip(rows, vectors, strict=True):
                copy.write_row(
                    (
                        row.position,
                        list(row.heading_path),
                        row.page,
                        row.text,
                        row.token_count,
                        vector,
                        row.heading_search,
                        row.body_search,
                    )
                )
        cursor.execute(
            _INSERT,
            (workspace_id, knowledge_base_id, document_id, generation, dims, TEXT_SEARCH_CONFIG, TEXT_SEARCH_CONFIG),
        )
        # ON COMMIT clears it too, but a caller's outer transaction may hold several batches.
        cursor.execute("DELETE FROM knowledge_chunk_load")


def vector_literal(vector: np.ndarray, dims: int) -> str:
    """A query vector as SQL text input (for `%s::vector(n)` / `::halfvec(n)` casts)."""
    values = np.asarray(vector, dtype=np.float32)
    if values.shape != (dims,):
        raise ValueError(f"expected a {dims}-dimensional vector")
    return Vector(values).to_text()


def chunks_delete(
    *,
    document_id: str | None = None,
    knowledge_base_id: str | None = None,
    generation: int | None = None,
    other_than_generation: int | None = None,
) -> None:
    """Delete the chunks of a document (or of a whole base), of one generation or all but one.

    Raw SQL: the ORM would fetch every row (embeddings included) before deleting it.
    """
    if (document_id is None) == (knowledge_base_id is None):
        raise ValueError("give a document or a knowledge base")
    sql, params = (
        ("DELETE FROM knowledge_chunk WHERE document_id = %s", [document_id])
        if document_id
        else ("DELETE FROM knowledge_chunk WHERE knowledge_base_id = %s", [knowledge_base_id])
    )
    if generation is not None:
        sql, params = f"{sql} AND generation = %s", [*params, generation]
    if other_than_generation is not None:
        sql, params = f"{sql} AND generation <> %s", [*params, other_than_generation]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def chunk_reindex(*, chunk_id: int, vector: np.ndarray, heading_search: str, body_search: str) -> None:
    """Store an edited chunk's new vector and tsvector (weighted as in the bulk insert)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE knowledge_chunk SET embedding = %s::vector, search_vector = "
            "setweight(to_tsvector(%s::regconfig, %s), 'A') || to_tsvector(%s::regconfig, %s) "
            "WHERE id = %s",
            [
                vector_literal(vector, len(vector)),
                TEXT_SEARCH_CONFIG,
                heading_search,
                TEXT_SEARCH_CONFIG,
                body_search,
                chunk_id,
            ],
        )


def vector_index_ensure(*, dims: int) -> bool:
    """Create the HNSW index for `dims` if missing (concurrently: writes go on meanwhile).

    Returns False when the dimension cannot be indexed. Must run outside a transaction.
    """
    if vector_indexes.vector_type(dims) is None:
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_indexes WHERE indexname = %s", [vector_indexes.index_name(dims)])
        if cursor.fetchone():
            return True
        cursor.execute(vector_indexes.create_index_sql(dims, concurrently=not connection.in_atomic_block))
    return True

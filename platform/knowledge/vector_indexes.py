"""SQL for the per-dimension HNSW indexes on knowledge_chunk.embedding.

HNSW needs a fixed dimension, while bases may use models of different dimensions, so the column
has none and each dimension gets a partial expression index:

    CREATE INDEX … USING hnsw ((embedding::vector(384)) vector_cosine_ops) WHERE dims = 384

Queries use the same expression and predicate to reach it. `vector` HNSW indexes stop at 2,000
dimensions; up to 4,000 the index stores half-precision copies (`halfvec`), which keeps recall
close to full precision and halves the index; beyond that there is no index (exact search).
"""

from __future__ import annotations

VECTOR_MAX_DIMS = 2000
HALFVEC_MAX_DIMS = 4000
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 64


def index_name(dims: int) -> str:
    return f"knowledge_chunk_embedding_{int(dims)}"


def vector_type(dims: int) -> str | None:
    """The type the index (and an indexed query) casts embeddings to; None when not indexable."""
    dims = int(dims)
    if 1 <= dims <= VECTOR_MAX_DIMS:
        return f"vector({dims})"
    if dims <= HALFVEC_MAX_DIMS:
        return f"halfvec({dims})"
    return None


def create_index_sql(dims: int, *, concurrently: bool = True) -> str:
    cast = vector_type(dims)
    if cast is None:
        raise ValueError(f"{dims}-dimensional embeddings cannot be indexed with HNSW")
    opclass = "halfvec_cosine_ops" if cast.startswith("halfvec") else "vector_cosine_ops"
    return (
        f"CREATE INDEX {'CONCURRENTLY ' if concurrently else ''}IF NOT EXISTS {index_name(dims)} "
        f"ON knowledge_chunk USING hnsw ((embedding::{cast}) {opclass}) "
        f"WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION}) WHERE dims = {int(dims)}"
    )


def drop_index_sql(dims: int) -> str:
    return f"DROP INDEX IF EXISTS {index_name(dims)}"

from django.db import migrations

# Dimensions of common embedding models, indexed up front while the table is empty (instant);
# other dimensions get their index when the first base using them is created (see
# knowledge/vector_indexes.py). 384: the built-in local embedder, bge-small, all-MiniLM;
# 768: nomic-embed-text, bge-base; 1024: bge-m3, mxbai-embed-large; 1536:
# text-embedding-3-small; 3072: text-embedding-3-large (as halfvec: vector HNSW stops at 2000).
_INDEXES = [(384, "vector", "vector_cosine_ops"), (768, "vector", "vector_cosine_ops"),
            (1024, "vector", "vector_cosine_ops"), (1536, "vector", "vector_cosine_ops"),
            (3072, "halfvec", "halfvec_cosine_ops")]


def _create(dims: int, kind: str, opclass: str) -> str:
    return (f"CREATE INDEX IF NOT EXISTS knowledge_chunk_embedding_{dims} ON knowledge_chunk "
            f"USING hnsw ((embedding::{kind}({dims})) {opclass}) WITH (m = 16, ef_construction = 64) "
            f"WHERE dims = {dims}")


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0002_knowledge_bases")]

    operations = [
        # A copy of `english` (stemming, stop words) under our own name: one place to tune text
        # search for every knowledge base. CJK text arrives already split into bigrams.
        migrations.RunSQL(
            "CREATE TEXT SEARCH CONFIGURATION knowledge_text (COPY = pg_catalog.english)",
            "DROP TEXT SEARCH CONFIGURATION IF EXISTS knowledge_text",
        ),
        *[migrations.RunSQL(_create(dims, kind, opclass), f"DROP INDEX IF EXISTS knowledge_chunk_embedding_{dims}")
          for dims, kind, opclass in _INDEXES],
    ]

"""Ingestion throughput: documents through the whole pipeline, in chunks per second.

    .venv/bin/python bench/knowledge_ingest.py --documents 200 --workers 2
    .venv/bin/python bench/knowledge_ingest.py --documents 200 --embedder local-hash-v1
    .venv/bin/python bench/knowledge_ingest.py --documents 200 --existing 100000

Each document (Markdown: 10 sections of 30 prose paragraphs under headings, ~70 chunks of ≤ 256
tokens; paragraphs made by the prose corpus's Markov chain, so they differ from the preloaded
ones) is stored as an upload
and indexed by `knowledge.ingestion.document_ingest`, the function the Celery task runs: read,
parse, chunk, embed with a built-in embedder (`--embedder`, the neural one by default), COPY the
chunks (tsvector computed in the INSERT, HNSW/GIN/B-tree indexes maintained) and swap the index
live. `--workers` processes index in parallel, as worker processes would; `--existing` first bulk-loads that many chunks
into another base, so the indexes are not empty. Time spent inside the embedding model is
measured separately and reported both ways.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.knowledge_common import ProseCorpus, Timer, bench_database

SECTIONS = 10
PARAGRAPHS_PER_SECTION = 30


def make_document(corpus: ProseCorpus, index: int) -> str:
    per_document = SECTIONS * PARAGRAPHS_PER_SECTION
    start = len(corpus.paragraphs) + 2_000_000 + index * per_document  # past anything preloaded
    paragraphs = corpus.texts(start, start + per_document)
    parts = [f"# Guide {index}\n"]
    for section in range(SECTIONS):
        first = paragraphs[section * PARAGRAPHS_PER_SECTION]
        parts.append(f"\n## {section + 1}. {' '.join(first.split()[:5])}\n")
        for paragraph in paragraphs[section * PARAGRAPHS_PER_SECTION : (section + 1) * PARAGRAPHS_PER_SECTION]:
            parts.append("\n" + paragraph + "\n")
    return "".join(parts)


def _ingest_share(document_ids: list[str], queue) -> None:
    from django.db import connections

    from knowledge import embedding, ingestion

    connections.close_all()  # a forked child must open its own connection
    spent = [0.0]
    original = embedding.embedder_for

    def timed_embedder(model):
        embed = original(model)

        def run(texts):
            started = time.perf_counter()
            try:
                return embed(texts)
            finally:
                spent[0] += time.perf_counter() - started

        return run

    embedding.embedder_for = timed_embedder
    ingestion.embedding.embedder_for = timed_embedder
    started = time.perf_counter()
    statuses = [ingestion.document_ingest(document_id=doc_id) for doc_id in document_ids]
    queue.put((time.perf_counter() - started, spent[0], statuses))
    connections.close_all()


def preload(count: int, workspace, seed: int) -> None:
    """`count` chunks in a base of their own, bulk-loaded, so the indexes start non-empty."""
    from django.conf import settings

    from bench.knowledge_retrieval import build  # the retrieval benchmark's bulk loader

    build(chunks=count, bases=3, doc_chunks=50, data_dir=Path(settings.DATA_DIR), seed=seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--existing", type=int, default=0, help="chunks loaded before the measurement")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--embedder",
        default="use-multilingual-v3",
        help="a built-in embedder: use-multilingual-v3 (the default for new bases) or local-hash-v1",
    )
    args = parser.parse_args()
    with bench_database(f"ingest-{args.existing}", fresh=True):
        from django.core.files.uploadedfile import SimpleUploadedFile
        from django.db import connection, connections

        from accounts.models import Workspace
        from knowledge import services
        from knowledge.models import Chunk

        # The benchmark runs the ingestion itself, in its own processes: nothing to enqueue.
        services._enqueue = services._ensure_index_later = lambda *args, **kwargs: None
        if args.existing:
            print(f"preloading {args.existing:,} chunks …", flush=True)
            preload(args.existing, Workspace.objects.create(name="existing"), args.seed)
        workspace = Workspace.objects.create(name="bench ingest")
        base = services.knowledge_base_create(
            workspace=workspace, name="Ingest", chunk_size=256, chunk_overlap=32, embedding_model_id=args.embedder
        )
        corpus = ProseCorpus(seed=args.seed)
        clock = Timer()
        documents = []
        for index in range(args.documents):
            text = make_document(corpus, index).encode()
            doc, _ = services.document_create_from_upload(
                knowledge_base=base, file=SimpleUploadedFile(f"guide-{index}.md", text)
            )
            documents.append(doc.pk)
        upload_s = clock.seconds
        connections.close_all()

        queue = multiprocessing.get_context("fork").Queue()
        shares = [documents[i :: args.workers] for i in range(args.workers)]
        processes = [
            multiprocessing.get_context("fork").Process(target=_ingest_share, args=(share, queue)) for share in shares
        ]
        clock = Timer()
        for process in processes:
            process.start()
        results = [queue.get() for _ in processes]
        for process in processes:
            process.join()
        wall = clock.seconds
        chunks = Chunk.objects.filter(knowledge_base=base).count()
        embed_s = [spent for _, spent, _ in results]
        statuses = [status for *_, group in results for status in group]
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM knowledge_chunk")
            table = cursor.fetchone()[0]
        print(
            f"\n{len(documents)} documents, {chunks:,} chunks ({chunks / len(documents):.0f} per document), "
            f"{args.workers} worker process{'es' if args.workers > 1 else ''}, {table:,} chunks in the table after"
        )
        print(f"  statuses: { {s: statuses.count(s) for s in set(statuses)} }")
        print(f"  upload (store files, create rows): {upload_s:.2f}s")
        print(f"  ingestion wall time: {wall:.2f}s  ->  {chunks / wall:,.0f} chunks/s end-to-end")
        print(
            f"  of which in the embedding model: {np.mean(embed_s):.2f}s per worker "
            f"({args.embedder}, {args.workers} in parallel)"
        )
        print(f"  excluding embedding-model time: {chunks / (wall - np.mean(embed_s)):,.0f} chunks/s")


if __name__ == "__main__":
    main()

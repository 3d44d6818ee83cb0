"""Hybrid retrieval latency and vector recall over a synthetic corpus.

    .venv/bin/python bench/knowledge_retrieval.py --chunks 100000
    .venv/bin/python bench/knowledge_retrieval.py --chunks 1000000 --queries 200

Builds (once; kept in .data/bench/retrieval-<chunks>/, `--fresh` rebuilds) a workspace with 100
knowledge bases over `--chunks` chunks embedded by the built-in local embedder: base "small" holds
1 % of the chunks, base "medium" 5 %, the others the rest. The corpus is bulk-loaded, then the
indexes are built (HNSW with raised maintenance_work_mem, GIN, B-trees), as a restore would.

Then it times `knowledge.retrieval.search` (top 8, the full production path: query embedding,
vector channel, text channel, fusion, chunk details) for queries over all bases, the medium
base and the small base, and measures the vector channel's recall@10 against exact search
(numpy, brute force over the same filtered set). Also shown: the small base forced through the
HNSW index (iterative scan) instead of exact search, which is why small sets go exact.

The keyword channel's dictionary translation (knowledge.crosslingual) is timed apart: each query
is searched with and without it, in alternating order, and the per-query difference is reported
("translation adds"), and so are 100 Chinese questions about the prose (their translations occur
in the English corpus, so the translated query is scored); `--no-translation` leaves it out of the
main timing too.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.knowledge_common import (
    Corpus,
    ProseCorpus,
    Timer,
    bench_database,
    embed_parallel,
    percentile,
    summary,
)

BATCH = 20_000
# Questions in Chinese about what the prose corpus (Python docstrings) talks of: their dictionary
# translation finds English words of the corpus, so the translated query is scored.
CHINESE_QUESTIONS = (
    "如何读取文件的内容？",
    "怎么设置超时时间？",
    "返回值是什么类型？",
    "如何把字符串转换成数字？",
    "怎么关闭网络连接？",
    "默认的编码是什么？",
    "如何创建一个新的线程？",
    "日期格式怎么解析？",
    "怎么删除目录里的文件？",
    "错误信息在哪里记录？",
    "如何比较两个列表？",
    "压缩数据用什么方法？",
    "怎么打印调试信息？",
    "参数的默认值可以修改吗？",
    "如何检查路径是否存在？",
    "怎么发送电子邮件？",
    "加密密码用哪个模块？",
    "如何排序字典的键？",
    "怎么生成随机数？",
    "缓存的大小有限制吗？",
)


def clustered_vectors(topics: np.ndarray, documents: np.ndarray, seed: int) -> np.ndarray:
    """Neural-like embeddings with structure at two scales: a random direction per topic, a
    document direction near its topic's, each chunk near its document's (as provider embedding
    models place passages: related text close, unrelated text near-orthogonal)."""
    topic_rng = np.random.default_rng(seed)
    centers = topic_rng.standard_normal((400, 384)).astype(np.float32)
    centers /= np.linalg.norm(centers, axis=1, keepdims=True)
    doc_rng = np.random.default_rng(seed + 1)
    doc_offsets = 0.04 * doc_rng.standard_normal((int(documents.max()) + 1, 384)).astype(np.float32)
    rng = np.random.default_rng(seed + int(documents[0]) + 2)
    vectors = (
        centers[topics] + doc_offsets[documents] + 0.03 * rng.standard_normal((len(topics), 384)).astype(np.float32)
    )
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def dims_of(vectors_kind: str) -> int:
    return 512 if vectors_kind == "neural" else 384


def embedder_name(vectors_kind: str) -> str:
    return "use-multilingual-v3" if vectors_kind == "neural" else "local-hash-v1"


def build(
    *,
    chunks: int,
    bases: int,
    doc_chunks: int,
    data_dir: Path,
    seed: int,
    vectors_kind: str = "local",
    corpus_kind: str = "prose",
) -> None:
    from django.db import connection, transaction

    from accounts.models import Workspace
    from knowledge.models import TEXT_SEARCH_CONFIG, Document, KnowledgeBase
    from knowledge.search_text import expand_cjk

    corpus = ProseCorpus(seed=seed) if corpus_kind == "prose" else Corpus.make(seed=seed)
    rng = np.random.default_rng(seed + 1)
    workspace = Workspace.objects.create(name="bench")
    kbs = [
        KnowledgeBase(
            workspace=workspace,
            name=name,
            embedding_model_name=embedder_name(vectors_kind),
            embedding_dimensions=dims_of(vectors_kind),
            chunk_size=512,
            chunk_overlap=64,
        )
        for name in ["small", "medium"] + [f"base-{i}" for i in range(bases - 2)]
    ]
    KnowledgeBase.objects.bulk_create(kbs)
    documents = chunks // doc_chunks
    small, medium = max(1, round(documents * 0.01)), max(1, round(documents * 0.05))
    owner = np.concatenate(
        [np.zeros(small, int), np.ones(medium, int), rng.integers(2, bases, documents - small - medium)]
    )
    rng.shuffle(owner)
    # Word salad: a topic per document. Prose: documents follow the paragraphs' order (a source
    # file's paragraphs land in one or two documents); the "topic" only seeds --vectors clustered.
    topics = (
        rng.integers(0, corpus.topics.shape[0], documents)
        if corpus_kind == "words"
        else np.arange(documents) // 4 % 400
    )
    docs = [
        Document(
            workspace=workspace,
            knowledge_base=kbs[owner[i]],
            name=f"doc-{i}-topic-{topics[i]}",
            source_type="upload",
            file_type="txt",
            status="ready",
            chunk_count=doc_chunks,
            live_generation=i + 1,
            progress_done=doc_chunks,
            progress_total=doc_chunks,
            ingest_request=1,
        )
        for i in range(documents)
    ]
    Document.objects.bulk_create(docs, batch_size=5000)
    for index, kb in enumerate(kbs):
        KnowledgeBase.objects.filter(pk=kb.pk).update(chunk_count=int((owner == index).sum()) * doc_chunks)

    dims = dims_of(vectors_kind)
    with connection.cursor() as cursor:
        for name in (
            f"knowledge_chunk_embedding_{dims}",
            "knowledge_chunk_search",
            "knowledge_chunk_kb_id",
            "knowledge_chunk_doc_gen",
        ):
            cursor.execute(f"DROP INDEX IF EXISTS {name}")
    total = documents * doc_chunks
    embeddings = np.zeros((total, dims), dtype=np.float32)
    chunk_topic = np.repeat(topics, doc_chunks)
    chunk_doc = np.repeat(np.arange(documents), doc_chunks)
    gen_s = embed_s = load_s = 0.0
    for start in range(0, total, BATCH):
        end = min(start + BATCH, total)
        clock = Timer()
        if corpus_kind == "prose":
            texts = corpus.texts(start, end)
        else:
            texts = [corpus.chunk_text(rng, int(chunk_topic[i])) for i in range(start, end)]
        gen_s += clock.seconds
        clock = Timer()
        if vectors_kind == "clustered":
            vectors = clustered_vectors(chunk_topic[start:end], chunk_doc[start:end], seed)
        else:
            vectors = embed_parallel(texts, neural=vectors_kind == "neural")
        embeddings[start:end] = vectors
        embed_s += clock.seconds
        clock = Timer()
        with transaction.atomic(), connection.cursor() as wrapper:
            cursor = wrapper.cursor
            from knowledge.chunk_store import _vector_dumper, _vector_oid

            oid = _vector_oid(cursor)
            cursor.adapters.register_dumper(np.ndarray, _vector_dumper(oid))
            cursor.execute(
                "CREATE TEMP TABLE IF NOT EXISTS bench_load (ord bigint, document_id text, "
                "knowledge_base_id text, generation bigint, position int, text text, embedding vector, "
                "body text) ON COMMIT DELETE ROWS"
            )
            with cursor.copy("COPY bench_load FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(["int8", "text", "text", "int8", "int4", "text", oid, "text"])
                for offset, i in enumerate(range(start, end)):
                    d = int(chunk_doc[i])
                    copy.write_row(
                        (
                            i,
                            docs[d].pk,
                            docs[d].knowledge_base_id,
                            d + 1,
                            i % doc_chunks,
                            texts[offset],
                            vectors[offset],
                            expand_cjk(texts[offset]),
                        )
                    )
            cursor.execute(
                """
                INSERT INTO knowledge_chunk (workspace_id, knowledge_base_id, document_id, generation, position,
                    heading_path, page, text, token_count, enabled, dims, embedding, search_vector)
                SELECT %s, knowledge_base_id, document_id, generation, position, '{}', NULL, text, 100, true, %s,
                       embedding, to_tsvector(%s::regconfig, body)
                FROM bench_load ORDER BY ord""",
                [workspace.pk, dims, TEXT_SEARCH_CONFIG],
            )
        load_s += clock.seconds
        print(f"  {end:>9,} chunks   generate {gen_s:6.1f}s   embed {embed_s:6.1f}s   load {load_s:6.1f}s", flush=True)

    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM knowledge_chunk ORDER BY id")
        ids = np.array([row[0] for row in cursor.fetchall()], dtype=np.int64)
        timings = {}
        for name, sql in [
            (
                "btree",
                "CREATE INDEX knowledge_chunk_kb_id ON knowledge_chunk (knowledge_base_id, id); "
                "CREATE INDEX knowledge_chunk_doc_gen ON knowledge_chunk (document_id, generation, position)",
            ),
            ("gin", "CREATE INDEX knowledge_chunk_search ON knowledge_chunk USING gin (search_vector)"),
            (
                "hnsw",
                f"CREATE INDEX knowledge_chunk_embedding_{dims} ON knowledge_chunk USING hnsw "
                f"((embedding::vector({dims})) vector_cosine_ops) WITH (m = 16, ef_construction = 64) "
                f"WHERE dims = {dims}",
            ),
            ("vacuum analyze", "VACUUM ANALYZE knowledge_chunk"),
        ]:
            clock = Timer()
            cursor.execute(sql)
            timings[name] = clock.seconds
            print(f"  index {name}: {clock.seconds:.1f}s", flush=True)
    np.save(data_dir / "embeddings.npy", embeddings)
    np.save(data_dir / "ids.npy", ids)
    np.save(data_dir / "owner.npy", np.repeat(owner, doc_chunks))
    np.save(data_dir / "topic.npy", chunk_topic)
    (data_dir / "build.txt").write_text(
        f"corpus={corpus_kind} chunks={total} documents={documents} "
        f"generate={gen_s:.1f}s embed={embed_s:.1f}s load={load_s:.1f}s "
        + " ".join(f"{k.replace(' ', '_')}={v:.1f}s" for k, v in timings.items())
        + "\n"
    )


def run(
    *,
    data_dir: Path,
    queries: int,
    seed: int,
    vectors_kind: str = "local",
    corpus_kind: str = "prose",
    translation: bool = True,
) -> None:
    from django.db import connection

    from knowledge import crosslingual, embedding, neural_embedder, retrieval
    from knowledge.models import KnowledgeBase
    from providers import local_embedder

    words = crosslingual.dictionary()  # loaded before the timing
    crosslingual.use(words if translation else crosslingual.Dictionary({}))

    dims = dims_of(vectors_kind)
    corpus = Corpus.make(seed=seed) if corpus_kind == "words" else None
    embeddings = np.load(data_dir / "embeddings.npy", mmap_mode="r")
    ids = np.load(data_dir / "ids.npy")
    owner = np.load(data_dir / "owner.npy")
    topic = np.load(data_dir / "topic.npy")
    bases = list(KnowledgeBase.objects.order_by("created_at", "name"))
    by_name = {b.name: b for b in bases}
    order = ["small", "medium"] + [f"base-{i}" for i in range(len(bases) - 2)]
    index_of = {name: i for i, name in enumerate(order)}
    workspace_id = bases[0].workspace_id
    print((data_dir / "build.txt").read_text().strip())
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_size_pretty(pg_relation_size(('knowledge_chunk_embedding_' || %s)::regclass)), "
            "pg_size_pretty(pg_relation_size('knowledge_chunk_search')), "
            "pg_size_pretty(pg_total_relation_size('knowledge_chunk'))",
            [str(dims)],
        )
        hnsw, gin, table = cursor.fetchone()
        print(f"sizes: hnsw {hnsw}, gin {gin}, table with indexes {table}")

    scopes = [
        ("all bases", [b.name for b in bases], {}),
        ("medium base (5%)", ["medium"], {}),
        ("small base (1%)", ["small"], {}),
        (
            "small base (1%), forced HNSW",
            ["small"],
            {
                "KNOWLEDGE_EXACT_SEARCH_MAX_CHUNKS": 0,
                "KNOWLEDGE_LOCAL_EXACT_SEARCH_MAX_CHUNKS": 0,
            },
        ),
    ]
    rng = np.random.default_rng(seed + 99)
    from django.conf import settings

    defaults = {key: getattr(settings, key) for _, _, overrides in scopes for key in overrides}
    for label, names, overrides in scopes:
        for key, value in overrides.items():
            setattr(settings, key, value)
        scope_bases = [by_name[n] for n in names]
        mask = np.isin(owner, [index_of[n] for n in names])
        rows = np.flatnonzero(mask)
        scope_vectors = np.asarray(embeddings[rows]) if len(rows) < len(ids) else np.asarray(embeddings)
        scope_ids = ids[rows]
        picks = rng.choice(rows, size=queries + 20, replace=False)
        with connection.cursor() as cursor:
            cursor.execute("SELECT id, text FROM knowledge_chunk WHERE id = ANY(%s)", [[int(ids[p]) for p in picks]])
            texts = dict(cursor.fetchall())
        if corpus is None:  # prose: questions and keyword queries, alternately
            kinds = ["question" if i % 2 else "keywords" for i in range(len(picks))]
            questions = [
                (ProseCorpus.question_for if kind == "question" else ProseCorpus.keywords_for)(rng, texts[int(ids[p])])
                for kind, p in zip(kinds, picks, strict=True)
            ]
        else:
            kinds = ["keywords"] * len(picks)
            questions = [corpus.query_for(rng, texts[int(ids[p])], int(topic[p])) for p in picks]
        query_vectors = {}
        if vectors_kind == "clustered":
            # A question's vector: near its source chunk (the text channel still gets the words).
            for p, question in zip(picks, questions, strict=True):
                vector = np.asarray(embeddings[p]) + 0.03 * rng.standard_normal(dims).astype(np.float32)
                query_vectors[question] = vector / np.linalg.norm(vector)
            embedding.embed_texts = lambda model, texts, vectors=query_vectors: np.stack([vectors[t] for t in texts])
        for question in questions[:20]:  # warm-up
            retrieval.search(
                workspace_id=workspace_id, knowledge_base_ids=[b.pk for b in scope_bases], query=question, top_k=8
            )
        if vectors_kind != "clustered":
            embed_ms = []
            model = embedding.model_of(scope_bases[0])
            for question in questions[20:]:
                started = time.perf_counter()
                embedding.embed_texts(model, [question])
                embed_ms.append((time.perf_counter() - started) * 1000)
            print(f"\n{label}: query embedding ({model.name}) {summary(embed_ms)}")
        latencies, vector_ms, text_ms, closeness, strategies, found = [], [], [], [], set(), 0
        recalls: dict[str, list[float]] = {}
        id_recalls: dict[str, list[float]] = {}
        for p, question, kind in zip(picks[20:], questions[20:], kinds[20:], strict=True):
            started = time.perf_counter()
            result = retrieval.search(
                workspace_id=workspace_id, knowledge_base_ids=[b.pk for b in scope_bases], query=question, top_k=8
            )
            latencies.append((time.perf_counter() - started) * 1000)
            for channel in result.channels:
                (vector_ms if channel.name.startswith("vector") else text_ms).append(channel.ms)
                strategies.add(channel.strategy)
            found += int(ids[p]) in {int(h.chunk_id[4:]) for h in result.hits}
            # Recall of the vector channel exactly as retrieval runs it, against brute force.
            query_vector = query_vectors.get(question)
            if query_vector is None:
                query_vector = (
                    neural_embedder.embed([question])[0]
                    if vectors_kind == "neural"
                    else local_embedder.embed_one(question)
                )
            model = embedding.model_of(scope_bases[0])
            ranked, _, similarity = retrieval._vector_candidates(
                scope_bases, model, query_vector, retrieval.candidate_pool(8)
            )
            approx = [r.key for r in ranked[:10]]
            scores = scope_vectors @ query_vector
            top = np.argpartition(-scores, 10)[:10]
            exact = set(scope_ids[top].tolist())
            id_recalls.setdefault(kind, []).append(len(exact & set(approx)) / 10)
            # As ann-benchmarks counts it: a neighbour found is a true one when it is as similar
            # as the 10th exact neighbour (within 1e-3; ties and half-precision rounding).
            kth = float(scores[top].min())
            approx_scores = scores[np.searchsorted(scope_ids, np.asarray(approx, dtype=np.int64))]
            recalls.setdefault(kind, []).append(float(np.sum(approx_scores >= kth - 1e-3)) / 10)
            # How close the approximate neighbours are: their mean similarity over the true ones'.
            found_sims = [similarity[r.key] for r in ranked[:10]]
            closeness.append(float(np.mean(found_sims) / max(np.mean(scores[top]), 1e-9)) if found_sims else 0.0)
        print(f"\n{label}: {len(rows):,} chunks, strategies {sorted(strategies)}")
        print(f"  hybrid top-8        {summary(latencies)}")
        print(f"  vector channel      {summary(vector_ms)}")
        print(f"  text channel        {summary(text_ms)}")
        for kind in recalls:
            print(
                f"  vector recall@10, {kind + ' queries':18s} mean {np.mean(recalls[kind]):.4f}   "
                f"p5 {percentile(recalls[kind], 5):.2f}   min {min(recalls[kind]):.2f}   "
                f"(by id, ties not counted: {np.mean(id_recalls[kind]):.4f})"
            )
        print(f"  similarity of the approximate top 10 / exact top 10: mean {np.mean(closeness):.4f}")
        print(f"  source chunk in top 8: {found / len(latencies):.1%}")
        # The dictionary translation's share: each query with and without it, in alternating order.
        scope_ids = [b.pk for b in scope_bases]
        added, translated, _ = _translation_paired(workspace_id, scope_ids, questions[20:], words)
        print(
            f"  translation adds    p50 {percentile(added, 50):+.2f} ms   mean {np.mean(added):+.2f} ms "
            f"({translated} of {len(added)} queries had words it translated)"
        )
        # Chinese questions about the English prose: the translation found in the bases and scored.
        added, translated, took_all = _translation_paired(workspace_id, scope_ids, CHINESE_QUESTIONS * 5, words)
        print(
            f"  Chinese questions   hybrid top-8 p50 {percentile(took_all, 50):.2f} ms; translation adds "
            f"p50 {percentile(added, 50):+.2f} ms   mean {np.mean(added):+.2f} ms "
            f"({translated} of {len(added)} translated)"
        )
        crosslingual.use(words if translation else crosslingual.Dictionary({}))
        for key, value in defaults.items():
            setattr(settings, key, value)


def _translation_paired(
    workspace_id: str, base_ids: list[str], questions: list[str], words
) -> tuple[list[float], int, list[float]]:
    """Each question searched with the dictionary translation and without, in alternating order:
    the time it adds per question, how many questions it translated, and the times with it."""
    from knowledge import crosslingual, retrieval

    added, translated, took_all = [], 0, []
    for index, question in enumerate(questions):
        took = {}
        for use in (True, False) if index % 2 else (False, True):
            crosslingual.use(words if use else crosslingual.Dictionary({}))
            started = time.perf_counter()
            result = retrieval.search(workspace_id=workspace_id, knowledge_base_ids=base_ids, query=question, top_k=8)
            took[use] = (time.perf_counter() - started) * 1000
            translated += int(use and bool(result.translations))
        added.append(took[True] - took[False])
        took_all.append(took[True])
    return added, translated, took_all


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--bases", type=int, default=100)
    parser.add_argument("--doc-chunks", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--fresh", action="store_true", help="rebuild the corpus even if one exists")
    parser.add_argument(
        "--corpus",
        choices=("prose", "words"),
        default="prose",
        help="prose: real paragraphs (docstrings), questions and keyword queries (default); "
        "words: real words in random sentences, keyword queries (a worst case)",
    )
    parser.add_argument(
        "--vectors",
        choices=("local", "neural", "clustered"),
        default="local",
        help="local: the built-in lexical embedder (default); neural: the built-in neural embedder "
        "(use-multilingual-v3, 512 dimensions; embedding 100,000 chunks takes ~10 minutes on two cores); "
        "clustered: synthetic neural-like embeddings (topic directions plus noise)",
    )
    parser.add_argument(
        "--no-translation", action="store_true", help="time without the keyword channel's dictionary translation"
    )
    args = parser.parse_args()
    name = f"retrieval-{args.chunks}-{args.corpus}" + ("" if args.vectors == "local" else f"-{args.vectors}")
    built = (Path(__file__).resolve().parents[1] / ".data" / "bench" / name / "build.txt").exists()
    with bench_database(name, fresh=args.fresh or not built):
        from django.conf import settings

        data_dir = Path(settings.DATA_DIR)
        if not (data_dir / "build.txt").exists():
            print(f"building {args.chunks:,} chunks in {data_dir} …", flush=True)
            clock = Timer()
            build(
                chunks=args.chunks,
                bases=args.bases,
                doc_chunks=args.doc_chunks,
                data_dir=data_dir,
                seed=args.seed,
                vectors_kind=args.vectors,
                corpus_kind=args.corpus,
            )
            print(f"built in {clock.seconds / 60:.1f} min", flush=True)
        run(
            data_dir=data_dir,
            queries=args.queries,
            seed=args.seed,
            vectors_kind=args.vectors,
            corpus_kind=args.corpus,
            translation=not args.no_translation,
        )


if __name__ == "__main__":
    main()

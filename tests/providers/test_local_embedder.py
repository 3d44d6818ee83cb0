"""The built-in lexical embedder: deterministic, normalised, and ranking by shared vocabulary."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from providers import local_embedder

ROOT = Path(__file__).resolve().parents[2]
TEXTS = ["How do I reset my password?", "发票什么时候开具？", "Überweisung storniert", ""]


def _cosine(a: str, b: str) -> float:
    return float(local_embedder.embed_one(a) @ local_embedder.embed_one(b))


def _embed_in_subprocess(hash_seed: str) -> np.ndarray:
    script = (
        "import json, sys; from providers import local_embedder; "
        "print(json.dumps(local_embedder.embed(json.loads(sys.argv[1])).tolist()))"
    )
    env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(ROOT / "platform")}
    out = subprocess.run(
        [sys.executable, "-c", script, json.dumps(TEXTS)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return np.array(json.loads(out), dtype=np.float32)


def test_same_vectors_in_every_process_whatever_the_hash_seed():
    here = local_embedder.embed(TEXTS)
    for seed in ("1", "4242"):
        assert np.array_equal(_embed_in_subprocess(seed), here), seed


def test_vectors_are_unit_length_with_384_dimensions():
    vectors = local_embedder.embed(TEXTS[:3])
    assert vectors.shape == (3, 384) == (3, local_embedder.DIMENSIONS)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_empty_or_wordless_text_gives_a_zero_vector():
    for text in ("", "   ", "?!… —"):
        vector = local_embedder.embed_one(text)
        assert vector.shape == (384,)
        assert not np.any(vector) and not np.isnan(vector).any()
    assert local_embedder.embed([]).shape == (0, 384)


def test_shared_words_score_higher_than_unrelated_text():
    query = "refund for a cancelled order"
    related = "Orders cancelled within 14 days get a full refund to the original card."
    unrelated = "Our office is closed on public holidays and weekends."
    assert _cosine(query, related) > _cosine(query, unrelated) + 0.1
    assert _cosine(query, query) > 0.999


def test_word_forms_overlap_through_trigrams():
    assert _cosine("invoice", "invoices") > 0.5
    assert _cosine("invoice", "holiday") < 0.3


def test_chinese_query_prefers_the_passage_sharing_its_characters():
    query = "如何申请退款"
    refund = "退款政策：购买后七天内可以在订单页面申请退款，款项原路退回。"
    weather = "今天天气晴朗，适合去公园散步，晚上可能有小雨。"
    assert _cosine(query, refund) > _cosine(query, weather) + 0.1
    assert _cosine(query, weather) < 0.2


def test_mixed_chinese_and_english():
    query = "API 密钥 怎么 重置"
    relevant = "在设置页面可以重置 API 密钥。"
    other = "The weather in Shanghai is humid in summer."
    assert _cosine(query, relevant) > _cosine(query, other)

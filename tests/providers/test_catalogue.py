"""The catalogue of well-known models and what a model costs."""

from __future__ import annotations

from decimal import Decimal

from providers import catalogue
from providers.models import ProviderModel


def test_exact_name():
    known = catalogue.lookup("gpt-4o-mini")
    assert known.kind == "chat"
    assert known.context_window == 128_000
    assert (known.input_price, known.output_price) == (Decimal("0.15"), Decimal("0.60"))


def test_dated_snapshot_matches_the_longest_base_name():
    assert catalogue.lookup("gpt-4o-mini-2024-07-18") is catalogue.KNOWN_MODELS["gpt-4o-mini"]
    assert catalogue.lookup("gpt-4o-2024-08-06") is catalogue.KNOWN_MODELS["gpt-4o"]
    assert catalogue.lookup("gpt-4.1-nano-2025-04-14") is catalogue.KNOWN_MODELS["gpt-4.1-nano"]


def test_ollama_tags_and_case_are_ignored():
    assert catalogue.lookup("nomic-embed-text:latest").embedding_dimensions == 768
    assert catalogue.lookup("bge-m3:567m") is catalogue.KNOWN_MODELS["bge-m3"]
    assert catalogue.lookup("GPT-4o-Mini") is catalogue.KNOWN_MODELS["gpt-4o-mini"]


def test_unknown_and_merely_similar_names_are_not_matched():
    assert catalogue.lookup("llama3.1:8b") is None
    assert catalogue.lookup("gpt-4omni") is None  # a prefix only counts at a "-" or ":" boundary
    assert catalogue.lookup("my-gpt-4o") is None


def test_embedding_entries_have_dimensions():
    for name, known in catalogue.KNOWN_MODELS.items():
        if known.kind == "embedding":
            assert known.embedding_dimensions, name
        else:
            assert known.context_window and known.max_output_tokens, name


def test_cost_is_prices_per_million_tokens():
    model = ProviderModel(input_price_per_million=Decimal("0.15"), output_price_per_million=Decimal("0.60"))
    assert model.cost(input_tokens=1_000_000, output_tokens=500_000) == Decimal("0.45")
    assert model.cost(input_tokens=1234, output_tokens=567) == Decimal("0.0005253")
    assert model.cost(input_tokens=0, output_tokens=0) == 0

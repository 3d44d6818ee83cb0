"""Defaults for well-known models, so adding `gpt-4o-mini` fills in its context window and price.

Prices are list prices in US dollars per million tokens at the time of writing; providers change
them, so every value is editable per workspace and the catalogue only supplies starting points.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class KnownModel:
    kind: str
    context_window: int | None = None
    max_output_tokens: int | None = None
    embedding_dimensions: int | None = None
    input_price: Decimal = Decimal("0")
    output_price: Decimal = Decimal("0")


def _chat(context: int, output: int, price_in: str, price_out: str) -> KnownModel:
    return KnownModel("chat", context, output, None, Decimal(price_in), Decimal(price_out))


def _embedding(dimensions: int, price: str, context: int = 8191) -> KnownModel:
    return KnownModel("embedding", context, None, dimensions, Decimal(price), Decimal("0"))


KNOWN_MODELS: dict[str, KnownModel] = {
    "gpt-4o": _chat(128_000, 16_384, "2.50", "10.00"),
    "gpt-4o-mini": _chat(128_000, 16_384, "0.15", "0.60"),
    "gpt-4.1": _chat(1_047_576, 32_768, "2.00", "8.00"),
    "gpt-4.1-mini": _chat(1_047_576, 32_768, "0.40", "1.60"),
    "gpt-4.1-nano": _chat(1_047_576, 32_768, "0.10", "0.40"),
    "o4-mini": _chat(200_000, 100_000, "1.10", "4.40"),
    "deepseek-chat": _chat(64_000, 8_192, "0.27", "1.10"),
    "deepseek-reasoner": _chat(64_000, 8_192, "0.55", "2.19"),
    "qwen-plus": _chat(131_072, 8_192, "0.40", "1.20"),
    "text-embedding-3-small": _embedding(1536, "0.02"),
    "text-embedding-3-large": _embedding(3072, "0.13"),
    "text-embedding-ada-002": _embedding(1536, "0.10"),
    "nomic-embed-text": _embedding(768, "0", context=8192),
    "bge-m3": _embedding(1024, "0", context=8192),
}


def lookup(model: str) -> KnownModel | None:
    """Exact name first, then the longest known name the model id starts with: dated snapshots
    (`gpt-4o-mini-2024-07-18`) and Ollama tags (`nomic-embed-text:latest`) share their base's
    entry. Model ids are compared case-insensitively."""
    model = model.strip().lower()
    if model in KNOWN_MODELS:
        return KNOWN_MODELS[model]
    matches = [name for name in KNOWN_MODELS if model.startswith((name + "-", name + ":"))]
    return KNOWN_MODELS[max(matches, key=len)] if matches else None

"""Weighted reciprocal rank fusion of ranked candidate lists, on normalised relevances. Pure functions.

Each channel (vector search, full-text search) ranks its own candidates; their raw scores are
not comparable (a cosine similarity and a term-weight sum), their ranks are. Reciprocal rank
fusion gives an item (k + 1)/(k + rank) from every list it appears in, so items that several
channels rank high come first and one channel's odd score scale cannot dominate (Cormack et al.,
2009; k = 60 is their constant). Each channel's vote is multiplied by its weight, and the sum is
divided by the sum of the weights, so an item ranked first by every channel with full relevance
scores 1 whatever the weights.

Each vote is also multiplied by the channel's relevance for that item, 0–1, so the fused score
also says how relevant the best items are in absolute terms (plain RRF gives the top item the
same score whether it is an exact answer or the least bad of unrelated passages), which is what
a minimum score needs. Relevances are normalised so they mean the same for every embedder:

- text: the share of the query's term weight the chunk contains (already 0–1);
- vector: the cosine similarity *above the background* of the embedder — the similarity of
  the least similar candidate in a full candidate pool, i.e. what an unrelated passage gets with
  this model — as a share of half the room left above it: `2 (cos − background) / (1 − background)`,
  at most 1. Embedders differ mostly in that background (a lexical hash: ~0; the Universal
  Sentence Encoder: ~0.05; E5-style models: ~0.75), so a threshold set for one means about the
  same for another; and a genuine answer seldom comes more than halfway from the background to
  an identical text (the question and the passage are different texts), so the half keeps a
  good vector match as strong a vote as a full keyword match. `vector_relevances` does that.
  (The lexical built-in embedder keeps the whole room as its span: its hashed features give
  unrelated texts a wide spread of similarities, up to 0.3, which the half would double.)
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field

RRF_K = 60
MAX_K = 1000
MAX_WEIGHT = 10.0
# A pool smaller than this is all the base has: its last candidate may still be related, so the
# embedder's nominal background is used instead.
MIN_BACKGROUND_POOL = 20
# The share of the room above the background that counts as full vector relevance.
VECTOR_SPAN = 0.5


@dataclass(frozen=True)
class Ranked:
    """One candidate of one channel: its id and its relevance (0–1) in that channel."""

    key: Hashable
    relevance: float = 1.0


@dataclass
class Fused:
    key: Hashable
    score: float
    ranks: dict[str, int] = field(default_factory=dict)
    relevances: dict[str, float] = field(default_factory=dict)


def clamp01(value: float) -> float:
    return min(max(float(value), 0.0), 1.0)


def background(similarities: Sequence[float], *, pool: int, nominal: float) -> float:
    """The similarity an unrelated passage gets: the pool's last candidate when the pool is full
    (and large enough to reach unrelated passages), else the embedder's nominal background."""
    if len(similarities) >= max(pool, MIN_BACKGROUND_POOL):
        return max(min(similarities), nominal)
    return nominal


def vector_relevances(
    similarities: Sequence[float], *, pool: int, nominal: float, span: float = VECTOR_SPAN
) -> list[float]:
    """Cosine similarities (best first) as relevances above the embedder's background, 0–1:
    `span` is the share of the room above the background that counts as full relevance."""
    floor = min(background(similarities, pool=pool, nominal=nominal), 0.99)
    span = (1.0 - floor) * min(max(span, 0.05), 1.0)
    return [clamp01((value - floor) / span) for value in similarities]


def weighted_fusion(
    channels: Mapping[str, Sequence[Ranked]],
    *,
    weights: Mapping[str, float] | None = None,
    k: int = RRF_K,
    total_weight: float | None = None,
    weighted: bool = True,
) -> list[Fused]:
    """Fuse ranked lists (best first) into one list, best first.

    `weights` maps a channel name, or its prefix before a colon (`vector` for `vector:model`), to
    its weight (default 1). `total_weight` is the sum of the weights of the channels any one item
    could have been ranked by (the normaliser); it defaults to the sum over `channels`. With
    `weighted` False, relevances are ignored (rank-only fusion). Ties keep the order of first
    appearance, channel by channel, so results are deterministic.
    """
    if not 1 <= k <= MAX_K:
        raise ValueError(f"k must be between 1 and {MAX_K}")
    weights = weights or {}

    def weight_of(name: str) -> float:
        value = weights.get(name, weights.get(name.split(":", 1)[0], 1.0))
        if not 0.0 <= value <= MAX_WEIGHT:
            raise ValueError(f"channel weights must be between 0 and {MAX_WEIGHT:g}")
        return value

    norm = total_weight if total_weight is not None else sum(weight_of(name) for name in channels)
    if norm <= 0:
        raise ValueError("at least one channel needs a weight above 0")

    fused: dict[Hashable, Fused] = {}
    for name, ranking in channels.items():
        weight = weight_of(name)
        seen: set[Hashable] = set()
        rank = 0
        for item in ranking:
            if item.key in seen:
                continue  # a channel votes once per item, at its best rank
            seen.add(item.key)
            rank += 1
            entry = fused.get(item.key)
            if entry is None:
                entry = fused[item.key] = Fused(item.key, 0.0)
            relevance = clamp01(item.relevance) if weighted else 1.0
            entry.score += weight * (k + 1) / (k + rank) * relevance / norm
            entry.ranks[name] = rank
            entry.relevances[name] = item.relevance
    order = {key: index for index, key in enumerate(fused)}
    return sorted(fused.values(), key=lambda entry: (-entry.score, order[entry.key]))


def reciprocal_rank_fusion(
    channels: Mapping[str, Sequence[Ranked]],
    *,
    k: int = RRF_K,
    weighted: bool = True,
    channels_per_item: int | None = None,
) -> list[Fused]:
    """Equal-weight fusion; `channels_per_item` is how many channels could have ranked any one item."""
    return weighted_fusion(
        channels,
        k=k,
        weighted=weighted,
        total_weight=float(channels_per_item) if channels_per_item else float(max(len(channels), 1)),
    )

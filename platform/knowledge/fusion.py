"""Reciprocal rank fusion of ranked candidate lists. Pure functions.

Each channel (vector search, full-text search) ranks its own candidates; their raw scores are
not comparable (a cosine similarity and a term-weight sum), their ranks are. Reciprocal rank
fusion gives an item 1/(k + rank) from every list it appears in, so items that several channels
rank high come first, and one channel's odd score scale cannot dominate (Cormack et al., 2009;
k = 60 is their constant).

Scores here are scaled so they read as 0–1: an item ranked first by every channel scores 1.
Optionally each vote is weighted by the channel's own relevance for that item (0–1: cosine
similarity, share of the query's terms matched). Ranks still decide the shape, but the fused
score then also says how relevant the best items are in absolute terms, which is what a score
threshold needs: plain RRF gives the top item the same score whether it is an exact answer or
the least bad of unrelated passages.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field

RRF_K = 60


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


def reciprocal_rank_fusion(
    channels: Mapping[str, Sequence[Ranked]],
    *,
    k: int = RRF_K,
    weighted: bool = True,
    channels_per_item: int | None = None,
) -> list[Fused]:
    """Fuse ranked lists (best first) into one list, best first.

    `channels_per_item` is how many channels could have ranked any one item (the normaliser);
    it defaults to the number of channels. Ties keep the order of first appearance, channel by
    channel, so results are deterministic.
    """
    if k < 1:
        raise ValueError("k must be at least 1")
    norm = channels_per_item or max(len(channels), 1)
    fused: dict[Hashable, Fused] = {}
    for name, ranking in channels.items():
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
            relevance = min(max(item.relevance, 0.0), 1.0) if weighted else 1.0
            entry.score += (k + 1) / (k + rank) * relevance / norm
            entry.ranks[name] = rank
            entry.relevances[name] = item.relevance
    order = {key: index for index, key in enumerate(fused)}
    return sorted(fused.values(), key=lambda entry: (-entry.score, order[entry.key]))

"""Full-text search helpers: CJK bigrams, tsquery literals and term weighting. Pure functions.

PostgreSQL's parsers split words on spaces and punctuation, so a Chinese sentence, which has
neither between its words, becomes one giant "word" that no query matches. Chinese, Japanese and
Korean runs are therefore rewritten as overlapping character bigrams before PostgreSQL sees them
(`退款政策` → `退款 款政 政策`), in the stored text and in the query alike: the classic
n-gram approach of search engines' CJK analysers, which needs no dictionary. Other scripts go
through the text search configuration unchanged (English stemming and stop words).

The text channel ranks chunks by how much of the query's *information* they contain: each
query term weighs its inverse document frequency, counted in the searched bases themselves for
small searches and estimated from PostgreSQL's statistics of the tsvector column
(`pg_stats.most_common_elems`) for large ones. Candidates come from the query's rarer terms
only, so a query containing a very common word does not rank half the table.

Mixed scripts: a Chinese run of n characters gives n − 1 overlapping bigrams, about twice as
many terms as it has words, so in `API 每分钟最多能调用多少次` the bigrams would outvote the one
Latin word. Each CJK bigram therefore weighs `CJK_BIGRAM_WEIGHT` of a word.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from switchboard.text import CJK_LETTERS

# Letters of the scripts written without spaces (punctuation such as 。！？ is not included:
# it separates runs).
_CJK_RUN = re.compile(f"[{CJK_LETTERS}]+")

MAX_QUERY_TERMS = 32
CJK_BIGRAM_WEIGHT = 0.5
_SEARCHABLE = re.compile(r"[^\W_]")


def _bigrams(run: str) -> str:
    if len(run) == 1:
        return run
    return " ".join(run[i : i + 2] for i in range(len(run) - 1))


def expand_cjk(text: str) -> str:
    """`text` with every CJK run replaced by its space-separated character bigrams."""
    return _CJK_RUN.sub(lambda m: f" {_bigrams(m.group())} ", text)


def is_searchable(text: str) -> bool:
    """Whether `text` has anything to search for: a letter or a digit in any script."""
    return bool(_SEARCHABLE.search(text))


def is_cjk_term(lexeme: str) -> bool:
    return bool(_CJK_RUN.fullmatch(lexeme))


def tsquery_literal(lexeme: str) -> str:
    """A lexeme quoted for tsquery input syntax (it is not normalised again)."""
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def or_query(lexemes: Iterable[str]) -> str:
    """A tsquery matching any of `lexemes`."""
    return " | ".join(tsquery_literal(lexeme) for lexeme in lexemes)


def any_of_query(alternatives: Iterable[Sequence[str]]) -> str:
    """A tsquery matching a row that contains all the lexemes of at least one alternative."""
    return " | ".join("(" + " & ".join(tsquery_literal(lexeme) for lexeme in lexemes) + ")" for lexemes in alternatives)


@dataclass(frozen=True)
class TermGroup:
    """One word of a translated query: matched by any alternative (all of whose lexemes are present)."""

    key: str
    alternatives: tuple[tuple[str, ...], ...]
    #: The alternatives that bring in candidate rows (the translations: rows with the question's
    #: own words are the question's candidates already).
    selecting: tuple[tuple[str, ...], ...] = ()

    @property
    def query(self) -> str:
        return any_of_query(self.alternatives)


def group_frequency(group: TermGroup, stats: TermStats) -> float:
    """The share of rows a group is expected to match, from the statistics of single lexemes: an
    alternative is as frequent as its rarest lexeme, and the alternatives' frequencies add up."""
    total = sum(min(stats.frequency(lexeme) for lexeme in lexemes) for lexemes in group.alternatives if lexemes)
    return min(total, 1.0)


def idf(frequency: float) -> float:
    """BM25's inverse document frequency for a term found in `frequency` (0–1) of the rows."""
    frequency = min(max(frequency, 1e-9), 1.0)
    return math.log(1.0 + (1.0 - frequency + 1e-6) / (frequency + 1e-6))


@dataclass(frozen=True)
class TermStats:
    """What the statistics say about a column: frequent lexemes and how rare the rest are."""

    frequencies: Mapping[str, float]
    #: Frequency assumed for a lexeme not among the frequent ones.
    unknown_frequency: float
    rows: float

    @classmethod
    def empty(cls, rows: float = 0.0) -> TermStats:
        # Without statistics every term weighs the same and every term is a candidate.
        return cls(frequencies={}, unknown_frequency=0.01, rows=rows)

    @classmethod
    def from_pg_stats(cls, elements: list[str] | None, frequencies: list[float] | None, rows: float) -> TermStats:
        """From pg_stats.most_common_elems/_elem_freqs (freqs end with min, max, null fraction)."""
        if not elements or not frequencies or len(frequencies) < len(elements) + 2:
            return cls.empty(rows)
        lowest = frequencies[len(elements)]
        return cls(
            frequencies=dict(zip(elements, frequencies[: len(elements)], strict=False)),
            unknown_frequency=max(lowest / 2, 1.0 / max(rows, 1.0)),
            rows=rows,
        )

    def frequency(self, lexeme: str) -> float:
        return self.frequencies.get(lexeme, self.unknown_frequency)


@dataclass(frozen=True)
class WeightedTerm:
    lexeme: str
    weight: float
    candidate: bool


def weigh_terms(
    lexemes: Iterable[str],
    stats: TermStats,
    *,
    candidate_rows: int,
    frequencies: Mapping[str, float] | None = None,
    halve_bigrams: bool = True,
) -> list[WeightedTerm]:
    """Query terms with IDF weights, marking which ones select candidate rows.

    Terms are taken rarest first while the rows they are expected to match stay within
    `candidate_rows`; the rarest term is always a candidate. The other terms still count in the
    score of the candidates (a MaxScore-style shortcut: rows matching only very common words
    cannot outrank rows matching the rare ones by much, and are too many to rank).
    `frequencies` (share of rows containing each lexeme, counted) take precedence over `stats`.
    With `halve_bigrams` False every term weighs its IDF (the groups of a translated query are
    words, whatever their script).
    """
    unique = list(dict.fromkeys(lexemes))[:MAX_QUERY_TERMS]
    counted = frequencies or {}

    def frequency(lexeme: str) -> float:
        return counted[lexeme] if lexeme in counted else stats.frequency(lexeme)

    ranked = sorted(unique, key=lambda lexeme: (frequency(lexeme), lexeme))
    chosen: set[str] = set()
    expected = 0.0
    for lexeme in ranked:
        rows = frequency(lexeme) * stats.rows
        if chosen and expected + rows > candidate_rows:
            break
        chosen.add(lexeme)
        expected += rows
    return [
        WeightedTerm(
            lexeme,
            idf(frequency(lexeme))
            * (CJK_BIGRAM_WEIGHT if halve_bigrams and is_cjk_term(lexeme) and len(lexeme) > 1 else 1.0),
            lexeme in chosen,
        )
        for lexeme in unique
    ]

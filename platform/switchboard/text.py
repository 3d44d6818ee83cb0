"""Text facts shared by every app: the CJK script ranges, and token counts without a tokenizer.

One home for both, so the chunker, the memory window, the full-text search and the built-in
embedder agree on what a CJK character is and what a token costs.

Token counts are a documented estimator of BPE token counts.

Chunk sizes are set in tokens because that is what embedding and chat models limit. The exact
count depends on the model's tokenizer, and the tokenizers themselves (tiktoken's encodings,
Hugging Face vocabularies) are downloaded at run time, which a self-hosted platform cannot rely
on. So counts here are estimates, calibrated on OpenAI's cl100k/o200k encodings and tuned to
err on the high side, so a chunk sized by them fits the real limit:

- Chinese, Japanese and Korean characters: 1 token each (cl100k gives 1–1.5 for common Han
  characters, o200k and Qwen-style vocabularies about 0.7–1);
- a run of digits: 1 token per 3 digits (BPE vocabularies split numbers into groups of three);
- a word in any other script: 1 token up to 6 letters, one more per further 6 (most English
  words are one token; long or rare words split into pieces of 3–6 characters);
- every other non-space character (punctuation, symbols, emoji): 1 token;
- whitespace: free (BPE merges a leading space into the following word).

English prose comes out within about 10–20 % above cl100k's count, Chinese within about 0–30 %.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

# Hiragana, Katakana, Han (with extension A and the compatibility ideographs) and Hangul
# syllables: the letters of scripts written without spaces between words.
HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
CJK_LETTERS = "\u3040-\u30ff" + HAN + "\uac00-\ud7af"
# The same, with CJK symbols and punctuation and the full-width forms: each about a token.
CJK_CHARS = "\u3000-\u303f" + CJK_LETTERS + "\uff00-\uffef"
_TOKEN = re.compile(rf"([{CJK_CHARS}])|([0-9]+)|([^\W\d_{CJK_CHARS}]+)|(\S)", re.UNICODE)

LETTERS_PER_TOKEN = 6
DIGITS_PER_TOKEN = 3


def _word_tokens(length: int) -> int:
    return 1 + (length - 1) // LETTERS_PER_TOKEN


def _digit_tokens(length: int) -> int:
    return 1 + (length - 1) // DIGITS_PER_TOKEN


def count_tokens(text: str) -> int:
    """Estimated number of tokens in `text` (see the module docstring)."""
    total = 0
    for cjk, digits, word, _other in _TOKEN.findall(text):
        if cjk:
            total += 1
        elif digits:
            total += _digit_tokens(len(digits))
        elif word:
            total += _word_tokens(len(word))
        else:
            total += 1
    return total


def token_spans(text: str) -> Iterator[tuple[int, int, int]]:
    """(start, end, tokens) for each counted unit of `text`, in order; whitespace is skipped.

    A long word or number is yielded in pieces of one token each, so a caller can cut text at
    any token boundary.
    """
    for match in _TOKEN.finditer(text):
        start, end = match.span()
        if match.group(2) or match.group(3):
            step = DIGITS_PER_TOKEN if match.group(2) else LETTERS_PER_TOKEN
            for piece in range(start, end, step):
                yield piece, min(piece + step, end), 1
        else:
            yield start, end, 1


def truncate(text: str, max_tokens: int) -> str:
    """The longest prefix of `text` estimated at no more than `max_tokens` tokens."""
    used = 0
    for start, _end, tokens in token_spans(text):
        if used + tokens > max_tokens:
            return text[:start].rstrip()
        used += tokens
    return text

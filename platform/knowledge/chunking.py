"""Splitting a parsed document into chunks for retrieval. Pure functions.

Chunks are sized in tokens (estimated, see `tokens`) and built so that each one reads on its own:

- a chunk never spans two sections: headings start a new chunk, and every chunk keeps its
  heading path (`("Billing", "Refunds")`) so it can be labelled and searched by it;
- within a section, paragraphs (and table rows) are kept whole when they fit; a paragraph that
  does not fit the space left starts the next chunk, unless the current one is still less than
  half full;
- a paragraph too long for any chunk is cut at sentence ends — `.!?` and the Chinese/Japanese
  `。！？；…` alike — then at clause marks (`，、,;:`), then between words, and only as a last
  resort inside a word;
- consecutive chunks of a section overlap by whole sentences, up to `overlap_tokens`, so a
  statement cut at a chunk boundary is still found with its context;
- each chunk records the page (PDF) where its own text starts, and never runs on past that page
  (only the overlap it opens with may come from the page before).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from knowledge.parsing.base import Block, BlockKind
from switchboard.text import count_tokens, token_spans

MIN_CHUNK_TOKENS = 32
MAX_CHUNK_TOKENS = 8192

_CLOSERS = "\"'”’」』）)】》〉\\]"
_PARAGRAPH = re.compile(r"\n[ \t]*\n\s*")
_LINE = re.compile(r"\n\s*")
_SENTENCE = re.compile(
    rf"[。！？!?；…]+[{_CLOSERS}]*\s*"  # CJK (and !?) ends: no space needed after them
    rf"|(?<=[^\s.])\.+[{_CLOSERS}]*(?:\s+|$)"  # a period followed by space (not a decimal point)
)
_CLAUSE = re.compile(r"[，、,;：:]\s*")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Chunk:
    text: str
    position: int
    heading_path: tuple[str, ...]
    page: int | None
    token_count: int


@dataclass(frozen=True)
class _Piece:
    text: str
    tokens: int
    page: int | None
    #: What goes before this piece when it follows another one in a chunk.
    joiner: str
    overlap: bool = False


def validate_sizes(chunk_tokens: int, overlap_tokens: int) -> None:
    if not MIN_CHUNK_TOKENS <= chunk_tokens <= MAX_CHUNK_TOKENS:
        raise ValueError(f"chunk size must be between {MIN_CHUNK_TOKENS} and {MAX_CHUNK_TOKENS} tokens")
    if not 0 <= overlap_tokens <= chunk_tokens // 2:
        raise ValueError("chunk overlap must be between 0 and half the chunk size")


def _cut(text: str, pattern: re.Pattern[str]) -> list[str]:
    """`text` cut after every match of `pattern`; the pieces concatenate back to `text`."""
    pieces, start = [], 0
    for match in pattern.finditer(text):
        end = match.end()
        if end > start and end < len(text):
            pieces.append(text[start:end])
            start = end
    pieces.append(text[start:])
    return [piece for piece in pieces if piece]


def _cut_tokens(text: str, max_tokens: int) -> list[str]:
    """Hard cut at token boundaries: for runs without any separator (or giant words)."""
    pieces, start, used = [], 0, 0
    for span_start, _end, tokens in token_spans(text):
        if used + tokens > max_tokens and span_start > start:
            pieces.append(text[start:span_start])
            start, used = span_start, 0
        used += tokens
    pieces.append(text[start:])
    return [piece for piece in pieces if piece]


_FINER = {_PARAGRAPH: _LINE, _LINE: _SENTENCE, _SENTENCE: _CLAUSE, _CLAUSE: _SPACE, _SPACE: None}


def _fit(text: str, max_tokens: int, level: re.Pattern[str] | None) -> Iterator[tuple[str, int]]:
    """(piece, tokens) with every piece within `max_tokens`, cutting at `level` then finer."""
    tokens = count_tokens(text)
    if tokens <= max_tokens:
        yield text, tokens
        return
    while level is not None:
        pieces = _cut(text, level)
        if len(pieces) > 1:
            for piece in pieces:
                yield from _fit(piece, max_tokens, _FINER[level])
            return
        level = _FINER[level]
    for piece in _cut_tokens(text, max_tokens):
        yield piece, count_tokens(piece)


def _sentences(text: str, max_tokens: int) -> Iterator[tuple[str, int]]:
    """Prose cut into paragraphs, lines and sentences, each within `max_tokens`."""
    for paragraph in _cut(text, _PARAGRAPH):
        for line in _cut(paragraph, _LINE):
            for sentence in _cut(line, _SENTENCE):
                yield from _fit(sentence, max_tokens, _CLAUSE)


def _block_pieces(block: Block, max_tokens: int, first: bool) -> list[_Piece]:
    text = block.text.strip("\n") if block.kind is BlockKind.CODE else block.text.strip()
    if not text:
        return []
    if block.kind is BlockKind.TEXT:
        parts = list(_sentences(text, max_tokens))
    else:
        parts = list(_fit(text, max_tokens, _LINE if block.kind is BlockKind.CODE else _SPACE))
    joiner = "" if first else ("\n" if block.kind is BlockKind.ROW else "\n\n")
    return [
        _Piece(part, tokens, block.page, joiner if index == 0 else "") for index, (part, tokens) in enumerate(parts)
    ]


def _sections(blocks: Iterable[Block]) -> Iterator[tuple[tuple[str, ...], list[Block]]]:
    stack: list[tuple[int, str]] = []
    current: list[Block] = []
    for block in blocks:
        if block.kind is BlockKind.HEADING:
            if current:
                yield tuple(title for _, title in stack), current
                current = []
            while stack and stack[-1][0] >= block.level:
                stack.pop()
            if block.text.strip():
                stack.append((block.level, block.text.strip()))
        else:
            current.append(block)
    if current:
        yield tuple(title for _, title in stack), current


class _Packer:
    def __init__(self, path: tuple[str, ...], chunk_tokens: int, overlap_tokens: int, start: int):
        self.path = path
        self.max = chunk_tokens
        self.overlap = overlap_tokens
        self.position = start
        self.pieces: list[_Piece] = []
        self.tokens = 0
        self.chunks: list[Chunk] = []

    @property
    def has_new_text(self) -> bool:
        return any(not piece.overlap for piece in self.pieces)

    def add(self, piece: _Piece) -> None:
        if not self.pieces:
            piece = _Piece(piece.text, piece.tokens, piece.page, "", piece.overlap)
        self.pieces.append(piece)
        self.tokens += piece.tokens

    def make_room(self, needed: int) -> None:
        """Drop overlap from the front until `needed` more tokens fit."""
        while self.pieces and self.pieces[0].overlap and self.tokens + needed > self.max:
            self.tokens -= self.pieces.pop(0).tokens

    def flush(self) -> None:
        if not self.has_new_text:
            return
        text = "".join(piece.joiner + piece.text for piece in self.pieces).strip()
        self.chunks.append(Chunk(text, self.position, self.path, self.page, self.tokens))
        self.position += 1
        tail: list[_Piece] = []
        used = 0
        for piece in reversed(self.pieces):
            if used + piece.tokens > self.overlap:
                break
            tail.insert(0, _Piece(piece.text, piece.tokens, piece.page, piece.joiner, overlap=True))
            used += piece.tokens
        self.pieces, self.tokens = [], 0
        for piece in tail:
            self.add(piece)

    @property
    def page(self) -> int | None:
        """The page the chunk being packed starts its own text on."""
        return next((piece.page for piece in self.pieces if not piece.overlap), None)

    def pack(self, blocks: list[Block]) -> None:
        for index, block in enumerate(blocks):
            # A chunk never runs across a page break: a passage cited as "p. 3" is on page 3.
            if block.page is not None and self.page not in (None, block.page):
                self.flush()
            pieces = _block_pieces(block, self.max, first=index == 0)
            size = sum(piece.tokens for piece in pieces)
            if not pieces:
                continue
            if self.tokens + size <= self.max:
                for piece in pieces:
                    self.add(piece)
                continue
            if size <= self.max and self.has_new_text and self.tokens >= self.max // 2:
                self.flush()
                self.make_room(size)
                for piece in pieces:
                    self.add(piece)
                continue
            for piece in pieces:
                if self.tokens + piece.tokens > self.max:
                    if self.has_new_text:
                        self.flush()
                    self.make_room(piece.tokens)
                self.add(piece)
        self.flush()


def chunk_blocks(blocks: Iterable[Block], *, chunk_tokens: int = 512, overlap_tokens: int = 64) -> list[Chunk]:
    """The document's chunks, in reading order, with positions 0, 1, 2, …"""
    validate_sizes(chunk_tokens, overlap_tokens)
    chunks: list[Chunk] = []
    for path, section in _sections(blocks):
        packer = _Packer(path, chunk_tokens, overlap_tokens, start=len(chunks))
        packer.pack(section)
        chunks.extend(packer.chunks)
    return chunks


def search_text(chunk_text: str, heading_path: Iterable[str]) -> str:
    """What is embedded for a chunk: its heading path, then its text."""
    path = " > ".join(heading_path)
    return f"{path}\n\n{chunk_text}" if path else chunk_text

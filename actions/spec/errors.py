"""The one exception the spec importer raises for documents it cannot use at all."""

from __future__ import annotations


class SpecError(Exception):
    """A document that cannot be imported as a whole.

    ``code`` is stable and meant for programs (API responses, UI branching); ``message`` is
    written for the person who pasted the spec. ``line``/``column`` are 1-based and set when
    the problem has a position in the text (malformed JSON or YAML).
    """

    def __init__(self, code: str, message: str, *, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.line = line
        self.column = column

    def __repr__(self) -> str:
        return f"SpecError(code={self.code!r}, message={self.message!r})"

"""Text deltas on their way to the turn's stream: the first at once, the rest gathered briefly.

Every event costs a Redis round trip on the worker, a read and a frame on the web process, and a
parse in the client. A model streaming 50 tokens a second would cost 50 of each per second per
turn; gathered over at most `linger` seconds (0.1 s: ten screen updates a second still read as
smooth typing) they cost a fraction. The first delta is never held back, so time to the first
token is unchanged, and a pause in the model's output never strands gathered text: a timer
sends it once the linger is over.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class DeltaBatcher:
    """Collects text; `send(text)` is called with each batch, in order, never concurrently."""

    def __init__(self, send: Callable[[str], None], *, linger: float):
        self._send = send
        self._linger = linger
        self._parts: list[str] = []
        self._last_sent: float | None = None
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self._closed = False

    def add(self, text: str) -> None:
        with self._lock:
            if self._closed:
                return
            self._parts.append(text)
            now = time.monotonic()
            if self._last_sent is None or self._linger <= 0 or now - self._last_sent >= self._linger:
                self._flush_locked()
            elif self._timer is None:
                # Threads are green under the chat worker's gevent pool: a timer costs little.
                self._timer = threading.Timer(self._linger - (now - self._last_sent), self.flush)
                self._timer.daemon = True
                self._timer.start()

    def flush(self) -> None:
        with self._lock:
            self._flush_locked()

    def close(self) -> None:
        """Send what is gathered and stop: nothing is sent after this returns."""
        with self._lock:
            self._flush_locked()
            self._closed = True

    def _flush_locked(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._parts and not self._closed:
            text, self._parts = "".join(self._parts), []
            self._send(text)
            self._last_sent = time.monotonic()

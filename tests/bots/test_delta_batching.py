"""Deltas: the first goes out at once, later ones are gathered briefly, nothing is lost or reordered."""

from __future__ import annotations

import threading
import time

from bots.delta_batching import DeltaBatcher


class Recorder:
    def __init__(self):
        self.sent: list[tuple[float, str]] = []
        self.lock = threading.Lock()

    def __call__(self, text: str) -> None:
        with self.lock:
            self.sent.append((time.monotonic(), text))

    @property
    def texts(self) -> list[str]:
        return [text for _, text in self.sent]


def test_the_first_delta_is_sent_at_once_and_the_rest_are_gathered():
    sent = Recorder()
    batcher = DeltaBatcher(sent, linger=0.2)
    batcher.add("Hel")
    assert sent.texts == ["Hel"]  # time to first token is never held back
    for piece in ("lo", ", ", "wor", "ld"):
        batcher.add(piece)
    assert sent.texts == ["Hel"]  # within the linger: gathered
    batcher.close()
    assert sent.texts == ["Hel", "lo, world"]


def test_a_pause_in_the_model_does_not_strand_gathered_text():
    sent = Recorder()
    batcher = DeltaBatcher(sent, linger=0.05)
    batcher.add("A")
    batcher.add("B")  # gathered; the model then goes quiet
    deadline = time.monotonic() + 5
    while sent.texts != ["A", "B"] and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sent.texts == ["A", "B"]
    batcher.close()
    assert sent.texts == ["A", "B"]


def test_nothing_is_sent_after_close_and_order_holds_under_a_fast_stream():
    sent = Recorder()
    batcher = DeltaBatcher(sent, linger=0.01)
    pieces = [f"{n}," for n in range(2000)]
    for piece in pieces:
        batcher.add(piece)
    batcher.close()
    batcher.add("late")
    time.sleep(0.05)
    assert "".join(sent.texts) == "".join(pieces)
    assert len(sent.texts) < len(pieces)  # fewer events than deltas


def test_no_linger_sends_every_delta():
    sent = Recorder()
    batcher = DeltaBatcher(sent, linger=0)
    for piece in "abc":
        batcher.add(piece)
    assert sent.texts == ["a", "b", "c"]

"""Stop a green thread that is blocked on the network as soon as a condition holds.

A model may stay silent for a minute before its first token; a turn's code is then blocked in a
socket read and cannot look at anything. Under the chat worker's gevent pool a second green
thread can: it checks `should_stop()` every `every` seconds and, when it holds, raises
`exception` in the blocked one, right where it waits (gevent interrupts the wait; the HTTP client
then closes the connection as it unwinds).

Elsewhere (prefork or real threads, tests calling code directly) this does nothing, and callers
still check between the items they read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager


def _green() -> bool:
    try:
        from gevent import monkey
    except ImportError:  # pragma: no cover - gevent is a dependency; kept for clarity
        return False
    return monkey.is_module_patched("socket")


@contextmanager
def interrupted_when(
    should_stop: Callable[[], bool], *, every: float, exception: type[BaseException]
) -> Iterator[bool]:
    """Yields whether a watcher runs: when not, the caller keeps checking `should_stop` itself."""
    if not _green():
        yield False
        return
    import gevent

    target = gevent.getcurrent()
    state = {"done": False}

    def watch() -> None:
        while True:
            gevent.sleep(every)
            if state["done"]:
                return
            if should_stop() and not state["done"]:
                # No switch between the check of `done` and this: the body cannot have ended.
                gevent.kill(target, exception)
                return

    watcher = gevent.spawn(watch)
    try:
        yield True
    finally:
        state["done"] = True  # set before anything below may switch to the watcher
        watcher.kill(block=False)

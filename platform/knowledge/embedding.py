"""Embeddings for a knowledge base: one of the built-in embedders or the base's provider model.

Built in (no provider needed, nothing downloaded): the multilingual neural embedder
(`knowledge.neural_embedder`, the default for new bases) and the lexical one
(`providers.local_embedder`, feature hashing: fast, but it knows no meaning). Texts go to the
provider in batches (`SWITCHBOARD_KNOWLEDGE_EMBED_BATCH`); `providers.clients`
is the only module that talks to providers. Failures become `EmbeddingError`, marked retryable
when waiting may help (timeouts, rate limits, server errors).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from django.conf import settings
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from knowledge import neural_embedder
from providers import local_embedder
from providers import selectors as provider_selectors
from switchboard.errors import DomainError, Unavailable, Unprocessable

if TYPE_CHECKING:
    from providers.clients import ProviderError

LOCAL_BATCH = 512
NEURAL_BATCH = 64


class EmbeddingError(Exception):
    def __init__(self, message: str, *, retryable: bool = False, code: str = "embedding_failed"):
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.code = code

    def as_domain_error(self, failure: str) -> DomainError:
        """`failure` (what could not be embedded) and why: unavailable when waiting may help."""
        error = Unavailable if self.retryable else Unprocessable
        return error(f"{failure}: {self.message}", code=self.code)


@dataclass(frozen=True)
class EmbeddingModel:
    """What a base embeds with: None as provider model means a built-in embedder, named by `name`."""

    provider_model_id: str | None
    name: str
    dimensions: int

    @property
    def is_local(self) -> bool:
        return self.provider_model_id is None


LEXICAL_MODEL = EmbeddingModel(None, local_embedder.NAME, local_embedder.DIMENSIONS)
NEURAL_MODEL = EmbeddingModel(None, neural_embedder.NAME, neural_embedder.DIMENSIONS)
#: What a new knowledge base embeds with unless told otherwise.
DEFAULT_MODEL = NEURAL_MODEL
BUILT_IN_MODELS = {model.name: model for model in (NEURAL_MODEL, LEXICAL_MODEL)}
BUILT_IN_DESCRIPTIONS = {
    NEURAL_MODEL.name: format_lazy(
        _(
            "Built-in neural embedder (multilingual, understands paraphrases and Chinese ↔ English; "
            "{dimensions} dimensions, no provider needed)"
        ),
        dimensions=NEURAL_MODEL.dimensions,
    ),
    LEXICAL_MODEL.name: format_lazy(
        _(
            "Built-in lexical embedder (matches shared words only, fastest; {dimensions} dimensions, no "
            "provider needed)"
        ),
        dimensions=LEXICAL_MODEL.dimensions,
    ),
}


def model_of(base) -> EmbeddingModel:
    return EmbeddingModel(base.embedding_model_id, base.embedding_model_name, base.embedding_dimensions)


def _embedding_error(exc: ProviderError, provider_name: str) -> EmbeddingError:
    """A failed embedding request as the knowledge base tells it; whether to retry is the provider's call."""
    where = f"The embedding provider '{provider_name}'"
    if exc.code == "provider_auth_error":
        return EmbeddingError(
            f"{where} rejected the API key ({exc.status}); a workspace admin should update it under Model providers.",
            code="provider_auth_error",
        )
    if exc.code == "provider_rate_limited":
        return EmbeddingError(
            f"{where} is rate-limiting requests (429): {exc.detail}", retryable=True, code="provider_rate_limited"
        )
    if exc.retryable:
        return EmbeddingError(f"{where} is unavailable: {exc.detail}", retryable=True, code="provider_unavailable")
    return EmbeddingError(f"{where} refused the request: {exc.detail}", code="provider_error")


def _neural(texts: Sequence[str]) -> np.ndarray:
    try:
        return neural_embedder.embed(texts)
    except neural_embedder.EmbedderUnavailable as exc:
        raise EmbeddingError(str(exc), code="embedder_unavailable") from exc


def _batches(texts: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(texts), size):
        yield texts[start : start + size]


def embedder_for(model: EmbeddingModel) -> Callable[[Sequence[str]], np.ndarray]:
    """A function embedding one batch of texts into an (n, dims) float32 array."""
    if model.is_local:
        if model.name == neural_embedder.NAME:
            return _neural
        if model.name == local_embedder.NAME:
            return lambda texts: local_embedder.embed(list(texts), model.dimensions)
        raise EmbeddingError(f"There is no built-in embedder named {model.name!r}.", code="model_missing")

    from providers import clients

    entry = provider_selectors.provider_model_find(id=model.provider_model_id)
    if entry is None:
        raise EmbeddingError("The knowledge base's embedding model no longer exists.", code="model_missing")
    if not provider_selectors.provider_model_is_usable(entry):
        raise EmbeddingError(
            f"The embedding model {entry.model} (provider '{entry.provider.name}') is "
            "disabled; enable it under Model providers.",
            code="model_disabled",
        )

    def embed(texts: Sequence[str]) -> np.ndarray:
        # Providers refuse empty strings; a lone space embeds as "nothing" everywhere.
        inputs = [text if text.strip() else " " for text in texts]
        try:
            vectors = clients.embed(entry.provider, model=entry.model, texts=inputs)
        except clients.ProviderError as exc:
            raise _embedding_error(exc, entry.provider.name) from exc
        array = np.asarray(vectors, dtype=np.float32)
        if array.shape != (len(inputs), model.dimensions):
            got = array.shape[1] if array.ndim == 2 else "?"
            raise EmbeddingError(
                f"The embedding model {entry.model} returned {got}-dimensional vectors, but the knowledge "
                f"base was created for {model.dimensions}; check the model's dimensions under Model providers.",
                code="dimension_mismatch",
            )
        return array

    return embed


def embed_texts(model: EmbeddingModel, texts: Sequence[str]) -> np.ndarray:
    """All `texts` embedded, batch by batch."""
    embed = embedder_for(model)
    size = batch_size(model)
    parts = [embed(batch) for batch in _batches(texts, size)]
    return np.vstack(parts) if parts else np.zeros((0, model.dimensions), dtype=np.float32)


def batch_size(model: EmbeddingModel) -> int:
    """Texts per call: the neural embedder's batches are small so progress moves every second or so."""
    if model.is_local:
        return NEURAL_BATCH if model.name == neural_embedder.NAME else LOCAL_BATCH
    return settings.KNOWLEDGE_EMBED_BATCH_SIZE

"""Reranking the fused candidates with a provider's `/rerank` endpoint (optional, per knowledge base).

The Cohere/Jina-style API that vLLM, Xinference, Jina, Cohere and others serve:

    POST {base_url}/rerank  {"model": …, "query": …, "documents": [text, …], "top_n": n}
    → {"results": [{"index": i, "relevance_score": s}, …]}

The request goes through the provider's own client (`providers.clients`: its base URL, API key
and timeout), as embedding requests do. Cross-encoder rerankers read the query and a passage
together, so they judge relevance better than either retrieval channel; they cost one request
of `candidate_count(top_k)` passages per query. Scores are squashed into 0–1 when a server
returns raw logits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from knowledge.models import KnowledgeBase

MAX_CANDIDATES = 50
MAX_DOCUMENT_CHARS = 4000


class RerankError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def candidate_count(top_k: int) -> int:
    """How many of the best fused candidates the reranker reorders."""
    return min(max(top_k * 3, 20), MAX_CANDIDATES)


def _score(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise RerankError(f"The reranker returned a relevance score that is not a number: {value!r}.")
    score = float(value)
    return score if 0.0 <= score <= 1.0 else 1.0 / (1.0 + math.exp(-score))


def parse_results(body: object, count: int) -> list[float]:
    """One score per document, in the documents' order (0 for any the server left out)."""
    results = body.get("results") if isinstance(body, dict) else None
    if not isinstance(results, list):
        raise RerankError("The reranker's answer has no 'results' list; is the URL a /rerank endpoint?")
    scores = [0.0] * count
    for item in results:
        index = item.get("index") if isinstance(item, dict) else None
        if not isinstance(index, int) or not 0 <= index < count:
            raise RerankError(f"The reranker returned a result for a document that was not sent: {item!r}.")
        scores[index] = _score(item.get("relevance_score", item.get("score")))
    return scores


def rerank(base: KnowledgeBase, *, query: str, documents: Sequence[str]) -> list[float]:
    """The base's reranker's relevance (0–1) of each document to the query, in order."""
    if not documents:
        return []
    from providers import clients

    provider = base.rerank_provider
    if provider is None or not base.rerank_model:
        raise RerankError("The knowledge base has no rerank model.")
    body = {
        "model": base.rerank_model,
        "query": query,
        "documents": [text[:MAX_DOCUMENT_CHARS] for text in documents],
        "top_n": len(documents),
    }
    try:
        answer = clients.client_for(provider).post("/rerank", cast_to=object, body=body)
    except Exception as exc:  # the SDK's errors; providers.clients is the module that knows them
        detail = " ".join(str(getattr(exc, "message", None) or exc or type(exc).__name__).split())[:300]
        raise RerankError(
            f"The rerank model {base.rerank_model} (provider '{provider.name}') failed: {detail}"
        ) from exc
    return parse_results(answer, len(documents))

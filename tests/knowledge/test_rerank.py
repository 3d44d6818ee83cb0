"""Reranking through a provider's /rerank endpoint (the Cohere/Jina-style API vLLM and Xinference serve),
against a small local server speaking that API."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from knowledge import rerank, services
from knowledge.retrieval import search

pytestmark = pytest.mark.django_db

FAQ = """# Help centre

## Refunds

Refunds are paid back to the original card within five working days.

## Shipping

Parcels leave our warehouse every weekday at four o'clock.

## Accounts

To reset a forgotten password, open the login page and choose "Forgot password".
"""


class RerankServer:
    """POST /v1/rerank: scores each document by whether it contains `prefer` (or answers `status`)."""

    def __init__(self) -> None:
        self.prefer = "warehouse"
        self.status = 200
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), **body})
                if server.status != 200:
                    payload = {"error": {"message": "reranker overloaded"}}
                else:
                    results = [
                        {"index": i, "relevance_score": 0.9 if server.prefer in doc else 0.1}
                        for i, doc in enumerate(body["documents"])
                    ]
                    payload = {"results": sorted(results, key=lambda r: -r["relevance_score"])}
                data = json.dumps(payload).encode()
                self.send_response(server.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def rerank_server() -> Iterator[RerankServer]:
    server = RerankServer()
    yield server
    server.close()


def test_rerank_results_are_read_in_the_documents_order_and_squashed_to_0_1():
    body = {"results": [{"index": 1, "relevance_score": 0.7}, {"index": 0, "relevance_score": 3.0}]}
    scores = rerank.parse_results(body, 3)
    assert scores[1] == 0.7 and scores[2] == 0.0 and 0.95 < scores[0] < 1.0  # a logit through the sigmoid
    for bad in ({"data": []}, {"results": [{"index": 5, "relevance_score": 1}]}, {"results": [{"index": 0}]}):
        with pytest.raises(rerank.RerankError):
            rerank.parse_results(bad, 3)


def test_a_base_with_a_rerank_model_reorders_the_fused_candidates(workspace, make_base, ingest_now, rerank_server):
    from providers import services as provider_services

    provider = provider_services.provider_create(
        workspace=workspace,
        name="Reranker",
        kind="openai_compatible",
        base_url=rerank_server.base_url,
        api_key="sk-rerank-test",
    )
    base = make_base(workspace, min_score=0)
    ingest_now(base, "faq.md", FAQ)
    query = "How do I reset my password?"
    fused = search(workspace_id=workspace.pk, knowledge_base_ids=[base.pk], query=query, top_k=3)
    assert fused.hits[0].heading_path == ("Help centre", "Accounts") and not fused.reranked

    services.knowledge_base_update(knowledge_base=base, rerank_provider_id=provider.pk, rerank_model="bge-reranker")
    result = search(workspace_id=workspace.pk, knowledge_base_ids=[base.pk], query=query, top_k=3)
    assert result.reranked and result.hits[0].heading_path == ("Help centre", "Shipping")
    assert result.hits[0].rerank_score == 0.9 and all(hit.rerank_score == 0.1 for hit in result.hits[1:])
    # The fused score (and the minimum it is held to) is still the fusion's.
    assert {hit.chunk_id: hit.score for hit in result.hits} == {hit.chunk_id: hit.score for hit in fused.hits}
    request = rerank_server.requests[-1]
    assert request["path"] == "/v1/rerank" and request["auth"] == "Bearer sk-rerank-test"
    assert request["model"] == "bge-reranker" and request["query"] == query and len(request["documents"]) == 3

    # A failing reranker leaves the fused order and says why.
    rerank_server.status = 503
    result = search(workspace_id=workspace.pk, knowledge_base_ids=[base.pk], query=query, top_k=3)
    assert not result.reranked and [h.chunk_id for h in result.hits] == [h.chunk_id for h in fused.hits]
    report = next(channel for channel in result.channels if channel.name == "rerank")
    assert "bge-reranker" in report.error and "Reranker" in report.error

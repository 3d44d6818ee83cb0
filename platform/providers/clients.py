"""OpenAI SDK clients for provider entries — the only module that imports `openai`.

Clients are cached per provider version: the SDK's httpx pool then keeps connections to the
provider open across chat turns instead of paying a TCP+TLS handshake on every call.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field

import httpx2  # the HTTP client the openai SDK is built on
import openai

from providers.models import Provider, ProviderKind

_NO_KEY = "no-key"  # the SDK insists on a key; local servers such as Ollama ignore it

_cache: dict[tuple[str, str], openai.OpenAI] = {}
_cache_lock = threading.Lock()


def client_for(provider: Provider, *, max_retries: int = 0) -> openai.OpenAI:
    # Retries are ours (they honour Retry-After and are visible in the trace), so the SDK's are off.
    version = f"{provider.updated_at.isoformat() if provider.updated_at else ''}:{max_retries}"
    cache_key = (provider.pk, version)
    with _cache_lock:
        client = _cache.get(cache_key)
        if client is None:
            for stale in [k for k in _cache if k[0] == provider.pk]:
                _cache.pop(stale).close()
            client = _build(provider, max_retries=max_retries)
            _cache[cache_key] = client
    return client


def _build(provider: Provider, *, max_retries: int) -> openai.OpenAI:
    api_key = provider.api_key.reveal() if provider.api_key else _NO_KEY
    if provider.kind == ProviderKind.AZURE_OPENAI:
        return openai.AzureOpenAI(
            azure_endpoint=provider.base_url,
            api_key=api_key,
            api_version=provider.api_version,
            timeout=provider.timeout_seconds,
            max_retries=max_retries,
        )
    return openai.OpenAI(
        base_url=provider.effective_base_url, api_key=api_key, timeout=provider.timeout_seconds, max_retries=max_retries
    )


@dataclass(frozen=True)
class ConnectionTest:
    ok: bool
    message: str
    latency_ms: float
    models: list[str] = field(default_factory=list)


def check_connection(provider: Provider) -> ConnectionTest:
    """List the provider's models: proves the URL, the key and the network path, costs no tokens."""
    started = time.perf_counter()

    def done(ok: bool, message: str, models: list[str] | None = None) -> ConnectionTest:
        return ConnectionTest(ok, message, round((time.perf_counter() - started) * 1000, 1), models or [])

    base = provider.effective_base_url
    try:
        page = client_for(provider).with_options(timeout=min(provider.timeout_seconds, 15)).models.list()
        models = sorted(model.id for model in page.data)
    except openai.AuthenticationError:
        return done(False, "The provider rejected the API key (401). Paste the key again or create a new one.")
    except openai.PermissionDeniedError:
        return done(False, "The API key is valid but not allowed to list models (403). Check its permissions.")
    except openai.NotFoundError:
        return done(False, f"{base} answered 404 for /models. OpenAI-compatible endpoints usually end in /v1.")
    except openai.RateLimitError:
        return done(False, "The provider is reachable but rate-limited this request (429). Try again shortly.")
    except openai.APITimeoutError:
        return done(False, f"{base} did not answer within the timeout. Is the server running and reachable?")
    except openai.APIConnectionError as exc:
        cause = exc.__cause__ or exc
        return done(False, f"Could not connect to {base}: {cause}. Check the base URL and that the server runs.")
    except openai.APIStatusError as exc:
        return done(False, f"The provider answered HTTP {exc.status_code}: {exc.message}")
    shown = ", ".join(models[:5]) + (f" and {len(models) - 5} more" if len(models) > 5 else "")
    return done(True, f"Connected. {len(models)} models available" + (f": {shown}." if models else "."), models)


def embed(provider: Provider, *, model: str, texts: list[str], dimensions: int | None = None) -> list[list[float]]:
    """The texts' vectors, in order; a failure is a ProviderError."""
    kwargs = {"dimensions": dimensions} if dimensions else {}
    try:
        response = client_for(provider).embeddings.create(model=model, input=texts, **kwargs)
        return [item.embedding for item in sorted(response.data, key=lambda item: item.index)]
    except Exception as exc:
        raise _classify(exc, provider) from exc


# -- chat completions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class ToolCallRequest:
    call_id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class Completion:
    """The end of a streamed completion."""

    finish_reason: str | None
    tool_calls: list[ToolCallRequest]
    input_tokens: int
    output_tokens: int


class ProviderError(Exception):
    """A failed call to a model provider, classified for the retry policy."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
        code: str = "provider_error",
        detail: str = "",
    ):
        super().__init__(message)
        self.message = message
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after
        self.code = code
        self.detail = detail or message  # the provider's own words, for messages that add their context


def _retry_after(response) -> float | None:
    if response is None:
        return None
    value = response.headers.get("retry-after-ms")
    if value:
        try:
            return float(value) / 1000
        except ValueError:
            pass
    value = response.headers.get("retry-after")
    if value:
        try:
            return float(value)
        except ValueError:
            return None  # an HTTP date: rare from LLM APIs; fall back to our backoff
    return None


# Answers that say "not now" rather than "no": worth the same request again later.
_TRANSIENT_STATUS = {408, 409, 425}


def _classify(exc: Exception, provider: Provider) -> ProviderError:
    """The one reading of a failed provider call: what to tell people, and whether to retry."""
    if isinstance(exc, ProviderError):
        return exc
    detail = " ".join(str(getattr(exc, "message", None) or exc or type(exc).__name__).split())[:300]
    if isinstance(exc, openai.APITimeoutError):
        return ProviderError(
            f"The model provider '{provider.name}' did not answer within {provider.timeout_seconds} s.",
            retryable=True,
            code="provider_timeout",
            detail=detail,
        )
    if isinstance(exc, openai.APIConnectionError):
        return ProviderError(
            f"Could not connect to the model provider '{provider.name}' ({provider.effective_base_url}).",
            retryable=True,
            code="provider_unreachable",
            detail=detail,
        )
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        if status == 429:
            return ProviderError(
                f"The model provider '{provider.name}' is rate-limiting requests (429): {detail}",
                status=status,
                retryable=True,
                retry_after=_retry_after(exc.response),
                code="provider_rate_limited",
                detail=detail,
            )
        if status >= 500 or status in _TRANSIENT_STATUS:
            return ProviderError(
                f"The model provider '{provider.name}' failed with HTTP {status}: {detail}",
                status=status,
                retryable=True,
                retry_after=_retry_after(exc.response),
                code="provider_server_error",
                detail=detail,
            )
        if status in (401, 403):
            return ProviderError(
                f"The model provider '{provider.name}' rejected the API key ({status}). "
                "A workspace admin should update it under Model providers.",
                status=status,
                code="provider_auth_error",
                detail=detail,
            )
        return ProviderError(
            f"The model provider '{provider.name}' refused the request ({status}): {detail}",
            status=status,
            code="provider_bad_request",
            detail=detail,
        )
    return ProviderError(f"Unexpected error from the model provider '{provider.name}': {exc}", detail=detail)


def stream_chat(
    provider: Provider,
    *,
    model: str,
    messages: list[dict],
    tools: list[dict] | None = None,
    temperature: float | None = None,
    top_p: float | None = None,
    max_tokens: int | None = None,
    json_output: bool = False,
):
    """Stream one chat completion: yields TextDelta items, then returns nothing but a final Completion.

    Tool-call fragments are assembled here (they arrive split across chunks, keyed by index), so
    callers see whole calls. Raises ProviderError, classified for retrying.
    """
    body: dict = {"messages": messages, "stream_options": {"include_usage": True}}
    if tools:
        body["tools"] = tools
    if temperature is not None:
        body["temperature"] = temperature
    if top_p is not None:
        body["top_p"] = top_p
    if max_tokens:
        body["max_tokens"] = max_tokens
    if json_output:
        body["response_format"] = {"type": "json_object"}
    # The messages and tools travel in extra_body: the SDK otherwise walks every message and tool
    # schema to "transform" them (a no-op for plain JSON), which was the largest single cost of a
    # turn on the worker. extra_body keys are merged into the request JSON as they are.
    kwargs: dict = {"model": model, "messages": [], "stream": True, "extra_body": body}
    calls: dict[int, dict[str, str]] = {}
    finish_reason = None
    usage: dict = {}
    try:
        # The raw SSE lines are parsed here rather than into the SDK's pydantic models: one
        # json.loads per chunk instead of a model per chunk keeps the per-token cost minimal.
        with client_for(provider).chat.completions.with_streaming_response.create(**kwargs) as response:
            done = False
            for line in response.iter_lines():
                # After [DONE] the body is read to its end, as the SDK's own streams do: a response
                # closed early also closes its connection, and the next turn would open another.
                if done or not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    done = True
                    continue
                chunk = json.loads(data)
                if chunk.get("error"):
                    raise ProviderError(
                        f"The model provider '{provider.name}' reported an error mid-stream: "
                        f"{chunk['error'].get('message', chunk['error'])}",
                        retryable=True,
                        code="provider_stream_error",
                    )
                if chunk.get("usage"):
                    usage = chunk["usage"]
                for choice in chunk.get("choices") or []:
                    delta = choice.get("delta") or {}
                    if delta.get("content"):
                        yield TextDelta(delta["content"])
                    for call in delta.get("tool_calls") or []:
                        slot = calls.setdefault(call.get("index", 0), {"id": "", "name": "", "arguments": ""})
                        if call.get("id"):
                            slot["id"] = call["id"]
                        function = call.get("function") or {}
                        slot["name"] += function.get("name") or ""
                        slot["arguments"] += function.get("arguments") or ""
                    if choice.get("finish_reason"):
                        finish_reason = choice["finish_reason"]
    except openai.OpenAIError as exc:
        raise _classify(exc, provider) from exc
    except (httpx2.TransportError, json.JSONDecodeError) as exc:
        raise ProviderError(
            f"The stream from the model provider '{provider.name}' broke off: {exc}",
            retryable=True,
            code="provider_stream_error",
        ) from exc
    yield Completion(
        finish_reason=finish_reason,
        tool_calls=[
            ToolCallRequest(c["id"] or f"call_{i}", c["name"], c["arguments"] or "{}") for i, c in sorted(calls.items())
        ],
        input_tokens=int(usage.get("prompt_tokens") or 0),
        output_tokens=int(usage.get("completion_tokens") or 0),
    )

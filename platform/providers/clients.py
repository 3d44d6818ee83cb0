"""OpenAI SDK clients for provider entries — the only module that imports `openai`.

Clients are cached per provider version: the SDK's httpx pool then keeps connections to the
provider open across chat turns instead of paying a TCP+TLS handshake on every call.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

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
        return openai.AzureOpenAI(azure_endpoint=provider.base_url, api_key=api_key,
                                  api_version=provider.api_version, timeout=provider.timeout_seconds,
                                  max_retries=max_retries)
    return openai.OpenAI(base_url=provider.effective_base_url, api_key=api_key,
                         timeout=provider.timeout_seconds, max_retries=max_retries)


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
    kwargs = {"dimensions": dimensions} if dimensions else {}
    response = client_for(provider).embeddings.create(model=model, input=texts, **kwargs)
    return [item.embedding for item in sorted(response.data, key=lambda item: item.index)]

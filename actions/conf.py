"""Action settings, read from the environment through switchboard.config.

Read once per process (`get()`); tests that change the environment call `get.cache_clear()`.
Every variable is listed in the README with its default.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from switchboard import config

MB = 1024 * 1024


@dataclass(frozen=True)
class ActionSettings:
    #: Largest spec accepted by import (pasted, uploaded or fetched by URL).
    max_spec_bytes: int
    #: Operations one action may hold; the rest of a bigger spec is reported as skipped.
    max_operations: int
    #: What the model is told of a response is cut to this many characters (kept valid JSON).
    tool_response_max_chars: int
    #: Largest response body read from a target API; a bigger one is an error, not a truncation.
    tool_max_response_bytes: int
    #: Overall limit of one call to a target API (connect, redirects, body).
    tool_timeout_seconds: float
    #: Limit on connecting (DNS, TCP, TLS) to a target API.
    tool_connect_timeout_seconds: float
    #: Limit of fetching a spec by URL.
    spec_fetch_timeout_seconds: float
    #: Access tokens of OAuth2 servers that do not say how long they last are kept this long.
    oauth_default_token_seconds: int


@lru_cache(maxsize=1)
def get() -> ActionSettings:
    return ActionSettings(
        max_spec_bytes=config.env_int("SWITCHBOARD_ACTIONS_MAX_SPEC_MB", 10, minimum=1, maximum=100) * MB,
        max_operations=config.env_int("SWITCHBOARD_ACTIONS_MAX_OPERATIONS", 5000, minimum=1,
                                      maximum=100_000),
        tool_response_max_chars=config.env_int("SWITCHBOARD_TOOL_RESPONSE_MAX_CHARS", 16_000, minimum=500,
                                               maximum=1_000_000),
        tool_max_response_bytes=config.env_int("SWITCHBOARD_TOOL_MAX_RESPONSE_MB", 5, minimum=1,
                                               maximum=1024) * MB,
        tool_timeout_seconds=float(config.env_int("SWITCHBOARD_TOOL_TIMEOUT_SECONDS", 30, minimum=1,
                                                  maximum=600)),
        tool_connect_timeout_seconds=float(config.env_int("SWITCHBOARD_TOOL_CONNECT_TIMEOUT_SECONDS", 5,
                                                          minimum=1, maximum=120)),
        spec_fetch_timeout_seconds=float(config.env_int("SWITCHBOARD_ACTIONS_SPEC_FETCH_TIMEOUT_SECONDS", 30,
                                                        minimum=1, maximum=600)),
        oauth_default_token_seconds=config.env_int("SWITCHBOARD_ACTIONS_OAUTH_DEFAULT_TOKEN_SECONDS", 3600,
                                                   minimum=30),
    )

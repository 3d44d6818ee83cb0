#!/usr/bin/env python3
"""Container health check of the Switchboard web process: exit 0 when it answers, 1 otherwise.

Installed in the image as `switchboard-healthcheck`; standard library only, since the slim base
image ships no curl or wget. It asks the liveness endpoint, which answers 200 as long as the
process serves requests (dependencies are reported by /healthz, not here: a database outage must
not make Docker restart every web container).

Django rejects a Host header that is not in ALLOWED_HOSTS with a 400, so the request names the
first concrete host of SWITCHBOARD_ALLOWED_HOSTS instead of 127.0.0.1. A redirect to the same
path (e.g. an HTTPS redirect) also shows that the server is answering.

Usage: switchboard-healthcheck [URL]   (default http://127.0.0.1:8000/healthz/live)
"""

from __future__ import annotations

import http.client
import os
import sys
from urllib.parse import urlsplit

DEFAULT_URL = "http://127.0.0.1:8000/healthz/live"
TIMEOUT_SECONDS = 3.0


def host_header(allowed_hosts: str | None) -> str:
    """The first entry of SWITCHBOARD_ALLOWED_HOSTS that a request can name as its Host."""
    for entry in (allowed_hosts or "").split(","):
        entry = entry.strip().lstrip(".")  # ".example.com" also allows example.com itself
        if entry and "*" not in entry:
            return entry
    return "localhost"


def check(url: str, host: str, timeout: float = TIMEOUT_SECONDS) -> tuple[bool, str]:
    parts = urlsplit(url)
    path = parts.path or "/"
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=timeout)
    try:
        connection.request("GET", path, headers={"Host": host, "User-Agent": "switchboard-healthcheck"})
        response = connection.getresponse()
        response.read()
    except OSError as exc:
        return False, f"{url}: {type(exc).__name__}: {exc}"
    finally:
        connection.close()
    if 200 <= response.status < 300:
        return True, f"{url}: {response.status}"
    location = response.getheader("Location") or ""
    if response.status in (301, 302, 307, 308) and urlsplit(location).path == path:
        return True, f"{url}: {response.status} to {location}"
    return False, f"{url}: HTTP {response.status} {response.reason} (Host: {host})"


def main(argv: list[str]) -> int:
    url = argv[1] if len(argv) > 1 else DEFAULT_URL
    healthy, message = check(url, host_header(os.environ.get("SWITCHBOARD_ALLOWED_HOSTS")))
    print(message, file=sys.stdout if healthy else sys.stderr)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))

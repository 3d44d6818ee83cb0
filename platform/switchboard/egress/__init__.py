"""The single way the platform makes server-side requests to user-supplied URLs.

Actions invocation, spec import by URL and document import by URL all go
through :func:`request`; configuration screens use :func:`check_url` to warn
early. Both take an :class:`EgressPolicy`, normally built from the
workspace's allowlist::

    from switchboard import egress

    policy = egress.EgressPolicy.from_allowlist(workspace.egress_allowlist)
    egress.check_url(url, policy)                       # raises on refusal
    resp = egress.request("GET", url, policy=policy, headers={"Authorization": token})
    resp.status_code, resp.headers, resp.content, resp.json()

The package is plain Python plus httpx/httpcore; it does not need Django.
See ``client.py`` for how connections are pinned to the validated address
while TLS is still verified for the real host name, and ``addresses.py`` for
the address policy table.
"""

from .addresses import (
    ADDRESS_RULES,
    AddressRule,
    AddressVerdict,
    ipv4_equivalent,
    judge_address,
    never_rule_for,
    parse_ipv4_literal,
    policy_table,
    ranges_inside,
)
from .client import EgressResponse, RedirectHop, close_pools, default_ssl_context, request
from .errors import (
    BlockedAddress,
    ConnectionFailed,
    ConnectTimeout,
    DeadlineExceeded,
    DNSFailure,
    EgressError,
    EgressTimeout,
    InvalidRequest,
    InvalidResponse,
    InvalidURL,
    ReadTimeout,
    ResponseTooLarge,
    TooManyRedirects,
    release_traceback,
)
from .policy import DEFAULT_POLICY, EgressPolicy
from .urls import ParsedURL, ResolvedTarget, check_url, parse_url

__all__ = [
    "ADDRESS_RULES",
    "DEFAULT_POLICY",
    "AddressRule",
    "AddressVerdict",
    "BlockedAddress",
    "ConnectTimeout",
    "ConnectionFailed",
    "DNSFailure",
    "DeadlineExceeded",
    "EgressError",
    "EgressPolicy",
    "EgressResponse",
    "EgressTimeout",
    "InvalidRequest",
    "InvalidResponse",
    "InvalidURL",
    "ParsedURL",
    "ReadTimeout",
    "RedirectHop",
    "ResolvedTarget",
    "ResponseTooLarge",
    "TooManyRedirects",
    "check_url",
    "close_pools",
    "default_ssl_context",
    "ipv4_equivalent",
    "judge_address",
    "never_rule_for",
    "parse_ipv4_literal",
    "parse_url",
    "policy_table",
    "ranges_inside",
    "release_traceback",
    "request",
]

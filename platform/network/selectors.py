"""Reads: a workspace's allowlist, the egress policy its outbound requests run under, and the
entries that deserve a warning."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import lru_cache

from django.db.models import QuerySet

from network import entries
from network.models import AllowlistEntry
from switchboard import egress

logger = logging.getLogger(__name__)


def entry_list(*, workspace_id: str) -> QuerySet[AllowlistEntry]:
    return AllowlistEntry.objects.for_workspace(workspace_id).order_by("value")


def entry_get(*, workspace_id: str, id: str) -> AllowlistEntry | None:
    return AllowlistEntry.objects.for_workspace(workspace_id).filter(pk=id).first()


def entry_values(*, workspace_id: str) -> tuple[str, ...]:
    return tuple(entry_list(workspace_id=workspace_id).values_list("value", flat=True))


def workspace_policy(
    *,
    workspace_id: str,
    extra: Iterable[str] = (),
    connect_timeout: float = 5.0,
    read_timeout: float = 30.0,
    total_timeout: float = 60.0,
    max_response_bytes: int = 5 * 1024 * 1024,
) -> egress.EgressPolicy:
    """The policy for a request made on the workspace's behalf, with the given limits.

    ``extra`` are allowances of the deployment (environment settings) on top of the workspace's
    entries; unlike stored entries, an invalid one raises ``ValueError`` (a misconfiguration).
    """
    return policy_for(
        entry_values(workspace_id=workspace_id),
        extra=extra,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        total_timeout=total_timeout,
        max_response_bytes=max_response_bytes,
    )


def policy_for(
    values: Iterable[str],
    *,
    extra: Iterable[str] = (),
    connect_timeout: float = 5.0,
    read_timeout: float = 30.0,
    total_timeout: float = 60.0,
    max_response_bytes: int = 5 * 1024 * 1024,
) -> egress.EgressPolicy:
    """The policy for already loaded entry values (one query fewer on the tool-call path)."""
    return _policy(tuple(values), tuple(extra), connect_timeout, read_timeout, total_timeout, max_response_bytes)


@lru_cache(maxsize=256)
def _policy(
    values: tuple[str, ...],
    extra: tuple[str, ...],
    connect_timeout: float,
    read_timeout: float,
    total_timeout: float,
    max_response_bytes: int,
) -> egress.EgressPolicy:
    # Cached: building a policy parses every entry, and tool calls ask for one per call.
    usable: list[str] = []
    for value in values:
        try:
            egress.EgressPolicy.from_allowlist([value])
        except ValueError:
            # Rows are validated when created; one written by other means must not stop every call.
            logger.warning("ignoring an invalid network allowlist entry")
            continue
        usable.append(value)
    return egress.EgressPolicy.from_allowlist(
        [*usable, *extra],
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        total_timeout=total_timeout,
        max_response_bytes=max_response_bytes,
    )


def entry_warnings(entry: AllowlistEntry | str) -> list[dict[str, str]]:
    """Why an entry deserves attention: it opens far more than an intranet, or it can do nothing."""
    value = entry if isinstance(entry, str) else entry.value
    understood = entries.understand(value)
    warnings = []
    if understood.is_broad:
        warnings.append({"code": "broad_entry", "message": understood.broad_message()})
    if understood.never_rule is not None:
        warnings.append({"code": "never_effective_entry", "message": understood.never_message()})
    return warnings


def allowlist_warnings(*, workspace_id: str) -> list[dict[str, str]]:
    """The warnings of every entry of the workspace, each with the entry's id and value."""
    found = []
    for entry in entry_list(workspace_id=workspace_id).only("id", "value"):
        for warning in entry_warnings(entry):
            found.append({"entry_id": entry.pk, "value": entry.value, **warning})
    return found

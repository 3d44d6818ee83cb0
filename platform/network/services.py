"""Writes: adding and removing allowlist entries."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.models import AuditAction, Workspace
from accounts.services import audit_record
from network import entries
from network.models import AllowlistEntry
from switchboard.errors import Conflict, InvalidInput


def allowlist_value_clean(value: str, *, confirm_broad: bool = False) -> str:
    """The value to store; refuses invalid entries, useless ones, and broad ones not confirmed."""
    try:
        value = entries.normalize(value)
    except entries.InvalidEntry as exc:
        if not (value or "").strip():
            raise InvalidInput(str(exc), code="required", param="value") from None
        raise InvalidInput(
            _(
                "%(problem)s Use a host name (optionally with :port), an IP address or a CIDR network such as "
                "10.20.0.0/16."
            )
            % {"problem": exc},
            code="invalid_allowlist_entry",
            param="value",
        ) from None
    understood = entries.understand(value)
    if understood.never_rule is not None:
        raise InvalidInput(understood.never_message(), code="never_reachable_entry", param="value")
    if understood.is_broad and not confirm_broad:
        raise InvalidInput(
            _("%(why)s Confirm that this is intended to add it.") % {"why": understood.broad_message()},
            code="confirmation_required",
            param="confirm_broad",
        )
    return value


@transaction.atomic
def allowlist_entry_create(
    *, workspace: Workspace, value: str, note: str = "", confirm_broad: bool = False, created_by=None
) -> AllowlistEntry:
    value = allowlist_value_clean(value, confirm_broad=confirm_broad)
    duplicate = Conflict(f"{value} is already on the allowlist.", code="duplicate_entry", param="value")
    if AllowlistEntry.objects.filter(workspace=workspace, value=value).exists():
        raise duplicate
    try:
        with transaction.atomic():  # a savepoint: a concurrent twin trips the unique constraint
            entry = AllowlistEntry.objects.create(
                workspace=workspace, value=value, note=(note or "").strip()[:300], created_by=created_by
            )
    except IntegrityError:
        raise duplicate from None
    audit_record(workspace=workspace, action=AuditAction.ALLOWLIST_ADD, target=entry, actor=created_by)
    return entry


@transaction.atomic
def allowlist_entry_delete(*, entry: AllowlistEntry) -> None:
    audit_record(workspace=entry.workspace, action=AuditAction.ALLOWLIST_REMOVE, target=entry)
    entry.delete()

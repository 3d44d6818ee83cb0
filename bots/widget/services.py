"""Changes to a bot's widget (by its owners) and visitor sessions and turns (by visitors)."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from accounts.models import AuditAction, Workspace
from accounts.services import audit_record
from bots.models import Bot, BotWidget, Channel, WidgetDefaults, WidgetPosition
from bots.turns import AcceptedTurn, turn_accept
from bots.widget import limits, origins
from bots.widget.access import (
    Mode,
    Session,
    identity_verify,
    session_issue,
    ticket_read,
    verified_visitor_id,
    visitor_issue,
    visitor_new,
    visitor_read,
)
from bots.widget.selectors import limits_of, serving_widget, visitor_conversation, widget_for_bot
from switchboard.errors import Forbidden, InvalidInput, NotFound

COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
MAX_LIMIT = 1_000_000
MAX_USER_ID = 128
LIMIT_SETTINGS = ("visitor_messages_per_minute", "ip_messages_per_minute", "daily_message_cap")
# What an owner may change about a bot's widget (the page's form and the API's body).
WIDGET_SETTINGS = (
    "enabled",
    "share_enabled",
    "allowed_origins",
    "allow_external_images",
    *LIMIT_SETTINGS,
    "title",
    "accent",
    "position",
    "greeting",
)

# -- owners -----------------------------------------------------------------------------------------


def widget_update(*, bot: Bot, **changes: Any) -> BotWidget:
    """Change the widget's settings; InvalidInput naming the field, nothing saved, when one is wrong."""
    widget = widget_for_bot(bot=bot)
    unknown = set(changes) - set(WIDGET_SETTINGS)
    if unknown:
        name = sorted(unknown)[0]
        raise InvalidInput(f"{name} is not a widget setting.", code="unknown_field", param=name)
    if "allowed_origins" in changes:
        value = changes["allowed_origins"]
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise InvalidInput(
                "allowed_origins must be a list of sites.", code="invalid_origin", param="allowed_origins"
            )
        changes["allowed_origins"] = origins.normalise_all(value)
    if "accent" in changes and not COLOUR.match(str(changes["accent"] or "")):
        raise InvalidInput("accent must be a colour like #2563eb.", code="invalid_colour", param="accent")
    if "position" in changes and changes["position"] not in WidgetPosition.values:
        raise InvalidInput("position must be right or left.", code="invalid_choice", param="position")
    for name in LIMIT_SETTINGS:
        if name in changes:
            _check_limit(name, changes[name], optional=True)
    for name, size in (("title", 80), ("greeting", 2000)):
        if name in changes and len(str(changes[name] or "")) > size:
            raise InvalidInput(f"{name} is longer than {size} characters.", code="too_long", param=name)
    for name in ("enabled", "share_enabled", "allow_external_images"):
        if name in changes and not isinstance(changes[name], bool):
            raise InvalidInput(f"{name} must be true or false.", code="invalid", param=name)
    changed = {name: value for name, value in changes.items() if getattr(widget, name) != value}
    for name, value in changes.items():
        setattr(widget, name, value)
    with transaction.atomic():
        widget.save()
        if changed:
            audit_record(
                workspace=widget.workspace, action=AuditAction.WIDGET_UPDATE, target=bot, details=_jsonable(changed)
            )
    return widget


def _jsonable(changes: dict[str, Any]) -> dict[str, Any]:
    return {
        name: value if isinstance(value, (str, int, bool, list, type(None))) else str(value)
        for name, value in changes.items()
    }


def _check_limit(name: str, value: Any, *, optional: bool) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_LIMIT:
        raise InvalidInput(f"{name} must be a whole number from 1 to {MAX_LIMIT:,}.", code="invalid_limit", param=name)


def widget_rotate_identity_secret(*, bot: Bot) -> str:
    """A new identity secret, returned this once; signatures made with the old one stop working."""
    widget = widget_for_bot(bot=bot)
    secret = "whs_" + secrets.token_urlsafe(32)
    widget.identity_secret = secret
    with transaction.atomic():
        widget.save(update_fields=["identity_secret", "updated_at"])
        audit_record(workspace=widget.workspace, action=AuditAction.WIDGET_SECRET_ROTATE, target=bot)
    return secret


def widget_defaults_update(*, workspace: Workspace, **changes: Any) -> WidgetDefaults:
    defaults, _ = WidgetDefaults.objects.get_or_create(workspace=workspace)
    for name, value in changes.items():
        if name not in LIMIT_SETTINGS:
            raise InvalidInput(f"{name} is not a workspace widget default.", code="unknown_field", param=name)
        _check_limit(name, value, optional=False)
        setattr(defaults, name, value)
    defaults.save()
    return defaults


# -- visitors ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StartedSession:
    token: str
    visitor: str
    session: Session


def origin_check(widget: BotWidget, *, origin: str | None, own_origin: str) -> None:
    """A browser request must come from the platform's own pages or an allowed site."""
    if origin is None or origin == own_origin or origins.is_allowed(origin, widget.allowed_origins):
        return
    raise Forbidden(
        f"{origin} is not allowed to use this chat. The bot's owner can add it under Embed & share.",
        code="origin_not_allowed",
    )


def host_check(widget: BotWidget, *, mode: str, host: str | None, own_origin: str) -> None:
    """The page a session or frame serves must still be allowed to show this chat."""
    if mode == Mode.SHARE:
        if not widget.share_enabled:
            raise NotFound("This chat's public link is switched off.", code="share_disabled")
        return
    if mode == Mode.PREVIEW and host == own_origin:
        return
    if mode == Mode.WIDGET and origins.is_allowed(host, widget.allowed_origins):
        return
    raise Forbidden(
        f"{host or 'This site'} is not allowed to show this chat. The bot's owner can add it under Embed & share.",
        code="origin_not_allowed",
    )


def session_start(
    *,
    ticket: str,
    visitor: str | None,
    user_id: str | None,
    user_hash: str | None,
    name: str,
    origin: str | None,
    own_origin: str,
    ip: str,
) -> StartedSession:
    """A session token for the frame holding `ticket`: the visitor kept, or a new one; the host
    site's user when `user_hash` proves it (Forbidden `identity_invalid` otherwise)."""
    read = ticket_read(ticket)
    widget = serving_widget(read.public_id)
    origin_check(widget, origin=origin, own_origin=own_origin)
    host_check(widget, mode=read.mode, host=read.host, own_origin=own_origin)
    limits.check_session_start(ip=ip)
    anonymous = visitor_read(visitor) or visitor_new()
    if user_id:
        if len(user_id) > MAX_USER_ID:
            raise InvalidInput(f"user_id is longer than {MAX_USER_ID} characters.", code="too_long", param="user_id")
        identity_verify(
            secret=widget.identity_secret.reveal() if widget.identity_secret else None,
            user_id=user_id,
            user_hash=user_hash or "",
        )
        session = Session(
            public_id=widget.public_id,
            mode=read.mode,
            host=read.host,
            visitor_id=verified_visitor_id(user_id),
            user_id=user_id,
            user_name=(name or "")[:120],
        )
    else:
        session = Session(
            public_id=widget.public_id,
            mode=read.mode,
            host=read.host,
            visitor_id=anonymous,
            user_id=None,
            user_name="",
        )
    return StartedSession(token=session_issue(session), visitor=visitor_issue(anonymous), session=session)


def session_widget(session: Session, *, origin: str | None, own_origin: str) -> BotWidget:
    """The widget a request's session talks to, checked again on every request: a bot switched
    off, an origin removed or a share link closed ends live sessions at once."""
    widget = serving_widget(session.public_id)
    origin_check(widget, origin=origin, own_origin=own_origin)
    host_check(widget, mode=session.mode, host=session.host, own_origin=own_origin)
    return widget


def visitor_turn(
    *,
    widget: BotWidget,
    session: Session,
    text: Any,
    conversation_id: str | None,
    inputs: dict[str, Any] | None,
    ip: str,
) -> AcceptedTurn:
    """Accept a visitor's message after the limits; a conversation must be the visitor's own."""
    if conversation_id:
        visitor_conversation(widget=widget, session=session, conversation_id=conversation_id)
    limits.check_message(public_id=widget.public_id, visitor_id=session.visitor_id, ip=ip, limits=limits_of(widget))
    return turn_accept(
        workspace=widget.workspace,
        bot=widget.bot,
        text=text,
        inputs=inputs,
        conversation_id=conversation_id or None,
        end_user=session.end_user,
        channel=Channel.SHARE if session.mode == Mode.SHARE else Channel.WIDGET,
        use_draft=False,
        visitor_id=session.visitor_id,
        end_user_verified=session.verified,
        end_user_name=session.user_name,
    )

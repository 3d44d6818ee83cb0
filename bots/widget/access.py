"""Who is talking: the frame's ticket, the visitor's id and the short-lived session token.

Three signed values (Django's signing: HMAC with SECRET_KEY, a salt per kind, a timestamp):

- a **ticket** is written into the frame document the platform serves for one host origin. The
  document's `frame-ancestors` names that origin, so a browser only runs it inside that site: the
  ticket says "this frame was served to https://shop.example for widget pub_…".
- a **visitor** value names an anonymous visitor across page loads (kept in the frame's storage);
  only the platform can make one, so nobody can claim another visitor's conversations.
- a **session token** is what every widget request carries: widget, visitor, host, the verified
  user if any. It lives for WIDGET_SESSION_SECONDS; the frame asks for a new one with its ticket.

A host site vouches for its signed-in user with `user_hash` = HMAC-SHA256(identity secret, user_id)
in hex, computed on its server; the secret never reaches a browser.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core import signing

from switchboard.errors import Forbidden, Unauthenticated

_TICKET_SALT = "switchboard.widget.ticket"
_VISITOR_SALT = "switchboard.widget.visitor"
_SESSION_SALT = "switchboard.widget.session"


class Mode:
    WIDGET = "widget"  # embedded on an allowed site
    SHARE = "share"  # the public link /s/PUBLIC_ID
    PREVIEW = "preview"  # the owner's live preview on the Embed & share page


@dataclass(frozen=True)
class Ticket:
    public_id: str
    mode: str
    host: str | None


def ticket_issue(*, public_id: str, mode: str, host: str | None) -> str:
    return signing.dumps({"w": public_id, "m": mode, "h": host}, salt=_TICKET_SALT, compress=True)


def ticket_read(value: str, *, public_id: str | None = None) -> Ticket:
    try:
        data = signing.loads(value, salt=_TICKET_SALT, max_age=settings.WIDGET_TICKET_SECONDS)
    except signing.SignatureExpired:
        raise Unauthenticated(
            "This chat window has been open too long; reload it to continue.", code="ticket_expired", param="ticket"
        ) from None
    except signing.BadSignature:
        raise Unauthenticated("The chat window's ticket is not valid.", code="ticket_invalid", param="ticket") from None
    ticket = Ticket(public_id=data["w"], mode=data["m"], host=data["h"])
    if public_id is not None and ticket.public_id != public_id:
        raise Unauthenticated("The ticket is for another bot.", code="ticket_invalid", param="ticket")
    return ticket


def visitor_new() -> str:
    return "v_" + secrets.token_hex(12)


def visitor_issue(visitor_id: str) -> str:
    return signing.dumps(visitor_id, salt=_VISITOR_SALT)


def visitor_read(value: str | None) -> str | None:
    """The visitor id a value names, or None when it is missing, forged or too old (a new visitor)."""
    if not value:
        return None
    try:
        visitor_id = signing.loads(value, salt=_VISITOR_SALT, max_age=settings.WIDGET_VISITOR_SECONDS)
    except signing.BadSignature:
        return None
    return visitor_id if isinstance(visitor_id, str) else None


def verified_visitor_id(user_id: str) -> str:
    """The conversations key of a verified host-site user: the same on every device they use."""
    return "u_" + hashlib.sha256(user_id.encode()).hexdigest()[:40]


def identity_hash(secret: str, user_id: str) -> str:
    """What a host site's server computes to vouch for `user_id` (documented on the Embed page)."""
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def identity_verify(*, secret: str | None, user_id: str, user_hash: str) -> None:
    if not secret:
        raise Forbidden(
            "This bot does not verify visitors' identities yet: its owner has not created an identity secret.",
            code="identity_invalid",
            param="user_hash",
        )
    if not hmac.compare_digest(identity_hash(secret, user_id), user_hash.strip().lower()):
        raise Forbidden(
            "The identity hash does not match this user id. Compute it on your server as "
            "HMAC-SHA256(identity secret, user_id) in hex.",
            code="identity_invalid",
            param="user_hash",
        )


@dataclass(frozen=True)
class Session:
    public_id: str
    mode: str
    host: str | None
    visitor_id: str  # the key of the visitor's conversations
    user_id: str | None  # the host site's user, when verified
    user_name: str

    @property
    def verified(self) -> bool:
        return self.user_id is not None

    @property
    def end_user(self) -> str:
        """How the conversation log names this person."""
        return self.user_id if self.user_id is not None else f"visitor:{self.visitor_id}"


def session_issue(session: Session) -> str:
    payload = {
        "w": session.public_id,
        "m": session.mode,
        "h": session.host,
        "v": session.visitor_id,
        "u": session.user_id,
        "n": session.user_name,
    }
    return signing.dumps(payload, salt=_SESSION_SALT, compress=True)


def session_read(authorization: str | None) -> Session:
    """The session an `Authorization: Bearer …` header carries; Unauthenticated saying why not."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated(
            "Start a visitor session first (POST /widget/v1/sessions) and send its token as "
            "`Authorization: Bearer <token>`.",
            code="session_required",
        )
    try:
        data = signing.loads(token.strip(), salt=_SESSION_SALT, max_age=settings.WIDGET_SESSION_SECONDS)
    except signing.SignatureExpired:
        raise Unauthenticated("The visitor session has expired; start a new one.", code="session_expired") from None
    except signing.BadSignature:
        raise Unauthenticated("The visitor session token is not valid.", code="session_invalid") from None
    return Session(
        public_id=data["w"],
        mode=data["m"],
        host=data["h"],
        visitor_id=data["v"],
        user_id=data["u"],
        user_name=data["n"],
    )

"""What browsers load without an API: /widget.js, the chat frame and the share page /s/PUBLIC_ID.

The frame document is served for one host origin and says so in `frame-ancestors`, so a browser
shows it only inside that site; its ticket (access.ticket_issue) carries the same origin to the
session the frame starts. The share page may not be framed at all. Both pages have a strict
Content Security Policy: scripts, styles and connections from the platform only; images from the
platform (and from other hosts only when the owner allows them).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import require_GET

from accounts.tenancy import access_for_session
from bots.models import BotWidget
from bots.widget import origins
from bots.widget.access import Mode, ticket_issue
from bots.widget.api import own_origin
from bots.widget.selectors import public_face, serving_widget
from bots.widget.services import COLOUR, host_check
from switchboard.errors import DomainError, Forbidden

MAX_STARTERS = 6


@lru_cache(maxsize=1)
def _script_cached(path: str, mtime: float) -> bytes:
    return Path(path).read_bytes()


def _widget_script() -> bytes:
    path = finders.find("widget/widget.js")
    if not path:
        return b"console.warn('Switchboard: the widget script is missing from this installation.');"
    return _script_cached(path, Path(path).stat().st_mtime)


@require_GET
@gzip_page
def widget_js(request):
    """The embed script; host pages load it from any origin, so it is public and cacheable."""
    response = HttpResponse(_widget_script(), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = f"public, max-age={settings.WIDGET_SCRIPT_MAX_AGE}"
    response["Access-Control-Allow-Origin"] = "*"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


def choose_lang(request) -> str:
    asked = (request.GET.get("lang") or "").lower()
    if asked.startswith("zh"):
        return "zh"
    if asked.startswith("en"):
        return "en"
    accept = request.headers.get("Accept-Language", "").lower()
    return "zh" if accept.startswith("zh") else "en"


def _text(request, name: str, limit: int) -> str:
    return (request.GET.get(name) or "").strip()[:limit]


def _starters(raw: str) -> list[str]:
    if not raw:
        return []
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw.split("|")
    if not isinstance(value, list):
        return []
    return [str(item).strip()[:200] for item in value if str(item).strip()][:MAX_STARTERS]


def _https_origin(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        return None
    return origins.parse_header(f"https://{parts.netloc}")


def page_options(request, widget: BotWidget) -> dict[str, Any]:
    """The options a page chose (query parameters of the frame URL) over the owner's defaults."""
    accent = request.GET.get("accent") or ""
    position = request.GET.get("position") or ""
    avatar = _text(request, "avatar", 500)
    if avatar and not (len(avatar) <= 8 or _https_origin(avatar)):
        avatar = ""  # an emoji or an https image, nothing else
    return {
        "title": _text(request, "title", 80) or widget.title or widget.bot.name,
        "accent": accent if COLOUR.match(accent) else widget.accent,
        "position": position if position in ("left", "right") else widget.position,
        "greeting": _text(request, "greeting", 2000) or widget.greeting,
        "starter_questions": _starters(request.GET.get("starters") or ""),
        "open": request.GET.get("open") in ("1", "true"),
        "avatar": avatar or widget.bot.avatar,
        "allow_external_images": widget.allow_external_images,
    }


def content_security_policy(*, frame_ancestors: str, image_origins: list[str], external_images: bool) -> str:
    images = " ".join(["'self'", "https:" if external_images else "", *image_origins]).split()
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src {' '.join(dict.fromkeys(images))}",
            "connect-src 'self'",
            "font-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
            f"frame-ancestors {frame_ancestors}",
        ]
    )


def _unavailable(request, error: DomainError, *, lang: str, status: int, framed: bool) -> HttpResponse:
    response = render(
        request,
        "widget/unavailable.html",
        {
            "code": error.code,
            "message_en": error.message,
            "message_zh": UNAVAILABLE_ZH.get(error.code, "此聊天暂不可用。"),
            "lang": lang,
        },
        status=status,
    )
    # Nothing secret is on this page, so it may show inside any site: the visitor learns why.
    response["Content-Security-Policy"] = content_security_policy(
        frame_ancestors="*" if framed else "'none'", image_origins=[], external_images=False
    )
    return response


UNAVAILABLE_ZH = {
    "bot_not_found": "此聊天不可用：机器人不存在、尚未发布，或其聊天窗口已关闭。",
    "origin_not_allowed": "此网站未获准显示该聊天。机器人的所有者可以在“嵌入与分享”中添加此网站。",
    "share_disabled": "此聊天的公开链接已关闭。",
}


def _page(request, widget: BotWidget, *, mode: str, host: str | None, lang: str, template: str) -> HttpResponse:
    options = page_options(request, widget)
    config = {
        "mode": mode,
        "api_root": "/widget/v1/",
        "ticket": ticket_issue(public_id=widget.public_id, mode=mode, host=host),
        "host": host,
        "lang": lang,
        "bot": public_face(widget),
        "options": options,
    }
    image_origins = [o for o in (_https_origin(options["avatar"]), _https_origin(widget.bot.avatar)) if o]
    response = render(request, template, {"config": config, "lang": lang, "bot": config["bot"], "options": options})
    if mode == Mode.SHARE:
        ancestors = "'none'"
    elif mode == Mode.PREVIEW:
        ancestors = "'self'"
    else:
        ancestors = host or "'none'"
    response["Content-Security-Policy"] = content_security_policy(
        frame_ancestors=ancestors, image_origins=image_origins, external_images=widget.allow_external_images
    )
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "no-store"  # the ticket inside is for this host and this day
    return response


@require_GET
@xframe_options_exempt
def frame(request, public_id: str):
    """The chat window inside the host page's iframe."""
    lang = choose_lang(request)
    host = origins.parse_header(request.GET.get("host"))
    own = own_origin(request)
    preview = request.GET.get("preview") == "1"
    try:
        widget = serving_widget(public_id)
        if preview:
            access = access_for_session(request)
            if access is None or access.workspace.pk != widget.workspace_id:
                raise Forbidden("Only the bot's workspace can preview its widget here.", code="origin_not_allowed")
            host = own
        mode = Mode.PREVIEW if preview else Mode.WIDGET
        host_check(widget, mode=mode, host=host, own_origin=own)
    except DomainError as exc:
        status = 403 if isinstance(exc, Forbidden) else 404
        return _unavailable(request, exc, lang=lang, status=status, framed=True)
    return _page(request, widget, mode=mode, host=host, lang=lang, template="widget/frame.html")


@require_GET
def share(request, public_id: str):
    """The same chat full-screen at a public link, when the owner switched the link on."""
    lang = choose_lang(request)
    try:
        widget = serving_widget(public_id)
        host_check(widget, mode=Mode.SHARE, host=None, own_origin=own_origin(request))
    except DomainError as exc:
        return _unavailable(request, exc, lang=lang, status=404, framed=False)
    return _page(request, widget, mode=Mode.SHARE, host=None, lang=lang, template="widget/share.html")

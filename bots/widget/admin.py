"""The bot's "Embed & share" page: the snippet with a live preview, allowed sites, the public
link, identity verification and limits."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.pages import add_service_error, can_admin, can_edit, forbidden, page_access
from bots.models import Bot, WidgetDefaults
from bots.widget import limits
from bots.widget.api import own_origin
from bots.widget.forms import WidgetDefaultsForm, WidgetSettingsForm
from bots.widget.selectors import limits_of, widget_for_bot
from bots.widget.services import (
    LIMIT_SETTINGS,
    WIDGET_SETTINGS,
    widget_defaults_update,
    widget_rotate_identity_secret,
    widget_update,
)
from switchboard.errors import DomainError

_EDITORS_ONLY = gettext_lazy("Only workspace editors, admins and owners change how a bot is embedded.")
_ADMINS_ONLY = gettext_lazy("Only workspace admins and owners change the workspace's widget limits.")


@login_required
def bot_embed(request: HttpRequest, bot_id: str) -> HttpResponse:
    access = page_access(request)
    bot = Bot.objects.for_workspace(access.workspace).select_related("published_version").filter(pk=bot_id).first()
    if bot is None:
        raise Http404("No such bot.")
    widget = widget_for_bot(bot=bot)
    defaults = WidgetDefaults.objects.filter(workspace=access.workspace).first() or WidgetDefaults()
    settings_form = WidgetSettingsForm(initial=_initial(widget))
    defaults_form = WidgetDefaultsForm(initial={name: getattr(defaults, name) for name in LIMIT_SETTINGS})
    new_secret = None
    if request.method == "POST":
        action = request.POST.get("action", "save")
        if action == "defaults":
            if not can_admin(access):
                return forbidden(request, _ADMINS_ONLY)
            defaults_form = WidgetDefaultsForm(request.POST)
            if defaults_form.is_valid():
                try:
                    widget_defaults_update(workspace=access.workspace, **defaults_form.cleaned_data)
                except DomainError as exc:
                    add_service_error(defaults_form, exc)
                else:
                    messages.success(request, _("Saved the workspace's widget limits."))
                    return redirect("bots:bot_embed", bot.pk)
        elif not can_edit(access):
            return forbidden(request, _EDITORS_ONLY)
        elif action == "rotate_secret":
            new_secret = widget_rotate_identity_secret(bot=bot)
            widget.refresh_from_db()
            messages.success(
                request,
                _("Made a new identity secret. Copy it now: it is not shown again. The old one no longer works."),
            )
        else:
            settings_form = WidgetSettingsForm(request.POST)
            if settings_form.is_valid():
                try:
                    widget_update(bot=bot, **settings_form.changes())
                except DomainError as exc:
                    add_service_error(settings_form, exc)
                else:
                    messages.success(request, _("Saved how %(name)s is embedded and shared.") % {"name": bot.name})
                    return redirect("bots:bot_embed", bot.pk)
    origin = own_origin(request)
    return render(
        request,
        "bots/bot_embed.html",
        {
            "bot": bot,
            "widget": widget,
            "form": settings_form,
            "defaults_form": defaults_form,
            "limits": limits_of(widget),
            "messages_today": limits.messages_today(widget.public_id),
            "origin": origin,
            "snippet": f'<script src="{origin}/widget.js" data-bot="{widget.public_id}" async></script>',
            "share_url": f"{origin}/s/{widget.public_id}",
            "new_secret": new_secret,
            "can_edit": can_edit(access),
            "can_admin": can_admin(access),
        },
    )


def _initial(widget) -> dict:
    initial = {name: getattr(widget, name) for name in WIDGET_SETTINGS}
    initial["allowed_origins"] = "\n".join(widget.allowed_origins)  # one site per line
    return initial

"""Server-rendered pages: bots, their draft settings, versions, conversations and the preview chat.

Every member sees the bots and their conversations. Editors and above change settings,
publish, restore versions and use the preview (each preview message is a paid model call).
Another workspace's bot or conversation is a 404, as in the API.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST
from rest_framework.exceptions import ValidationError as ApiValidationError

from accounts.pages import can_edit, forbidden, page_access
from accounts.tenancy import WorkspaceAccess
from actions.models import Operation
from bots import budgets, services
from bots.config import normalise
from bots.forms import BotForm, PublishForm, flatten_errors, pretty_json
from bots.models import Bot, Conversation, Message, MessageState, ToolCall
from bots.preview_text import PREVIEW_TEXT
from knowledge.models import KnowledgeBase
from providers.models import ModelKind, ProviderModel
from switchboard.errors import DomainError

_EDITORS_ONLY = gettext_lazy("Only workspace editors, admins and owners change bots.")
_PREVIEW_EDITORS_ONLY = gettext_lazy(
    "Only workspace editors, admins and owners use the preview: each message is a model call billed to the workspace."
)
RECENT_CONVERSATIONS = 20


def _bot(access: WorkspaceAccess, bot_id: str) -> Bot:
    bot = Bot.objects.for_workspace(access.workspace).select_related("published_version").filter(pk=bot_id).first()
    if bot is None:
        raise Http404("No such bot.")
    return bot


def _models_by_id(access: WorkspaceAccess, ids) -> dict[str, ProviderModel]:
    ids = [i for i in set(ids) if i]
    if not ids:
        return {}
    return {
        m.pk: m
        for m in ProviderModel.objects.for_workspace(access.workspace).filter(pk__in=ids).select_related("provider")
    }


def _model_summary(model_id: str | None, models: dict[str, ProviderModel]) -> dict[str, Any]:
    """How a bot's chat model is shown: its name, and whether it can answer right now."""
    if not model_id:
        return {"label": "", "usable": False, "problem": _("No chat model chosen.")}
    entry = models.get(model_id)
    if entry is None or entry.kind != ModelKind.CHAT:
        return {"label": model_id, "usable": False, "problem": _("This model no longer exists.")}
    usable = entry.is_enabled and entry.provider.is_enabled
    return {
        "label": entry.display_name or entry.model,
        "provider": entry.provider.name,
        "usable": usable,
        "problem": "" if usable else _("This model or its provider is disabled."),
    }


def _member_emails(access: WorkspaceAccess, end_users) -> dict[str, str]:
    """`user:<id>` (conversations started from the UI) → the member's email, for this workspace's members."""
    from accounts.models import Membership

    ids = {value.removeprefix("user:") for value in end_users if value.startswith("user:")}
    if not ids:
        return {}
    members = Membership.objects.filter(workspace=access.workspace, user_id__in=ids).values_list(
        "user_id", "user__email"
    )
    return {f"user:{user_id}": email for user_id, email in members}


# -- list ------------------------------------------------------------------------------------------


@login_required
def bot_list(request: HttpRequest) -> HttpResponse:
    access = page_access(request)
    bots = list(
        Bot.objects.for_workspace(access.workspace)
        .select_related("published_version")
        .annotate(conversation_count=Count("conversations"))
        .order_by("name")
    )
    models = _models_by_id(access, [normalise(b.config)["model"].get("provider_model_id") for b in bots])
    rows = [
        {"bot": bot, "model": _model_summary(normalise(bot.config)["model"].get("provider_model_id"), models)}
        for bot in bots
    ]
    return render(request, "bots/bot_list.html", {"rows": rows, "can_edit": can_edit(access)})


# -- create / edit ----------------------------------------------------------------------------------


def _add_rows_requested(request: HttpRequest) -> bool:
    return request.method == "POST" and "add_variable_row" in request.POST


def _save(form: BotForm, save) -> Bot | None:
    """Run a service with the form's arguments; its errors go next to the fields. None on error."""
    try:
        return save(**form.service_arguments())
    except DomainError as exc:
        form.add_service_error(exc.param, exc.message)
    except ApiValidationError as exc:
        form.add_validation_errors(exc.detail)
    return None


def _render_form(request: HttpRequest, form: BotForm, bot: Bot | None) -> HttpResponse:
    return render(request, "bots/bot_form.html", {"form": form, "bot": bot})


@login_required
def bot_create_view(request: HttpRequest) -> HttpResponse:
    access = page_access(request)
    if not can_edit(access):
        return forbidden(request, _EDITORS_ONLY)
    if _add_rows_requested(request):
        return _render_form(request, BotForm(request.POST, workspace=access.workspace, add_rows=1), None)
    form = BotForm(request.POST if request.method == "POST" else None, workspace=access.workspace)
    if request.method == "POST" and form.is_valid():
        bot = _save(
            form,
            lambda **arguments: services.bot_create(workspace=access.workspace, created_by=request.user, **arguments),
        )
        if bot is not None:
            messages.success(
                request, _("Created %(name)s. Try it in the preview, then publish it.") % {"name": bot.name}
            )
            return redirect("bots:bot_detail", bot.pk)
    return _render_form(request, form, None)


@login_required
def bot_edit_view(request: HttpRequest, bot_id: str) -> HttpResponse:
    access = page_access(request)
    bot = _bot(access, bot_id)
    if not can_edit(access):
        return forbidden(request, _EDITORS_ONLY)
    if _add_rows_requested(request):
        return _render_form(request, BotForm(request.POST, workspace=access.workspace, bot=bot, add_rows=1), bot)
    form = BotForm(request.POST if request.method == "POST" else None, workspace=access.workspace, bot=bot)
    if request.method == "POST" and form.is_valid():
        # A fresh copy: a rejected update must not leave half-applied values on the page's bot.
        saved = _save(form, lambda **arguments: services.bot_update(bot=_bot(access, bot_id), **arguments))
        if saved is not None:
            messages.success(
                request,
                _("Saved the draft of %(name)s. Publish it to serve it on the API and the widget.")
                % {"name": saved.name},
            )
            if request.POST.get("stay"):
                return redirect("bots:bot_edit", saved.pk)  # keep editing, with the preview beside
            return redirect("bots:bot_detail", saved.pk)
    return _render_form(request, form, bot)


# -- detail, publish, restore -----------------------------------------------------------------------


def _has_unpublished_changes(bot: Bot) -> bool:
    if bot.published_version is None:
        return True
    return normalise(bot.config) != normalise(bot.published_version.config)


@login_required
def bot_detail(request: HttpRequest, bot_id: str) -> HttpResponse:
    access = page_access(request)
    bot = _bot(access, bot_id)
    config = normalise(bot.config)
    model_id = config["model"].get("provider_model_id")
    conversations = list(
        Conversation.objects.for_workspace(access.workspace)
        .filter(bot=bot)
        .annotate(message_count=Count("messages"))
        .order_by("-created_at")[:RECENT_CONVERSATIONS]
    )
    emails = _member_emails(access, [c.end_user for c in conversations])
    for conversation in conversations:
        conversation.member_email = emails.get(conversation.end_user, "")
    return render(
        request,
        "bots/bot_detail.html",
        {
            "bot": bot,
            "config": config,
            "model": _model_summary(model_id, _models_by_id(access, [model_id])),
            "versions": bot.versions.select_related("created_by").order_by("-number"),
            "conversations": conversations,
            "conversation_total": Conversation.objects.for_workspace(access.workspace).filter(bot=bot).count(),
            "unpublished_changes": _has_unpublished_changes(bot),
            "publish_form": PublishForm(),
            "can_edit": can_edit(access),
            "budget": budgets.status_of(bot.budget) if hasattr(bot, "budget") else None,
            "knowledge_bases": _named(
                config["knowledge"]["knowledge_base_ids"],
                dict(KnowledgeBase.objects.for_workspace(access.workspace).values_list("id", "name")),
            ),
            "operations": _named(
                config["actions"]["operation_ids"],
                {
                    op.pk: f"{op.action.name} · {op.name}"
                    for op in Operation.objects.for_workspace(access.workspace)
                    .filter(pk__in=config["actions"]["operation_ids"])
                    .select_related("action")
                },
            ),
        },
    )


def _named(ids: list[str], names: dict[str, str]) -> list[dict[str, str]]:
    """Chosen ids with their names; an id whose object is gone says so."""
    return [{"id": pk, "name": names.get(pk, ""), "missing": pk not in names} for pk in ids]


@require_POST
@login_required
def bot_publish_view(request: HttpRequest, bot_id: str) -> HttpResponse:
    access = page_access(request)
    bot = _bot(access, bot_id)
    if not can_edit(access):
        return forbidden(request, _EDITORS_ONLY)
    form = PublishForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        version = services.bot_publish(bot=bot, note=note, published_by=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    except ApiValidationError as exc:
        problems = "; ".join(
            f"{param}: {message}" if param else message for param, message in flatten_errors(exc.detail)
        )
        messages.error(
            request, _("The draft cannot be published until it is fixed: %(problems)s") % {"problems": problems}
        )
    else:
        messages.success(
            request,
            _("Published version %(number)s of %(name)s: the API and the widget serve it now.")
            % {"number": version.number, "name": bot.name},
        )
    return redirect("bots:bot_detail", bot.pk)


@require_POST
@login_required
def bot_restore_view(request: HttpRequest, bot_id: str, number: int) -> HttpResponse:
    access = page_access(request)
    bot = _bot(access, bot_id)
    if not can_edit(access):
        return forbidden(request, _EDITORS_ONLY)
    try:
        services.bot_restore_version(bot=bot, number=number)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, _("Copied version %(number)s into the draft. Publish to serve it.") % {"number": number}
        )
    return redirect("bots:bot_detail", bot.pk)


# -- preview ----------------------------------------------------------------------------------------


@login_required
@xframe_options_sameorigin  # the editor shows it beside the form
def bot_preview(request: HttpRequest, bot_id: str) -> HttpResponse:
    access = page_access(request)
    bot = _bot(access, bot_id)
    if not can_edit(access):
        return forbidden(request, _PREVIEW_EDITORS_ONLY)
    config = normalise(bot.config)
    model_id = config["model"].get("provider_model_id")
    preview = {
        "bot_id": bot.pk,
        "chat_url": f"/api/v1/bots/{bot.pk}/chat",
        "api_root": "/api/v1/",
        "conversation_url": reverse("bots:conversation_detail", args=["CONVERSATION_ID"]),
        "opening_message": config["opening_message"],
        "starter_questions": config["starter_questions"],
        "variables": [
            {
                "name": v["name"],
                "type": v.get("type", "string"),
                "required": bool(v.get("required")),
                "default": v.get("default"),
                "description": v.get("description", ""),
                "options": v.get("options") or [],
            }
            for v in config["variables"]
        ],
    }
    panel = request.GET.get("panel") == "1"  # inside the editor, beside the form
    return render(
        request,
        "bots/bot_preview.html",
        {
            "bot": bot,
            "preview": preview,
            "preview_text": PREVIEW_TEXT,  # the script's strings, in the page's language
            "model": _model_summary(model_id, _models_by_id(access, [model_id])),
            "panel": panel,
            "base_template": "bots/_panel_base.html" if panel else "base.html",
        },
    )


# -- conversations ----------------------------------------------------------------------------------


def _latency(message: Message) -> list[tuple[str, float]]:
    return [
        (label, value)
        for label, value in (("queue", message.queue_ms), ("first token", message.ttft_ms), ("total", message.total_ms))
        if value is not None
    ]


def _trace_steps(message: Message) -> list[dict[str, Any]]:
    steps = []
    for step in message.trace or []:
        if not isinstance(step, dict):
            continue
        kind = step.get("type", "step")
        details = {k: v for k, v in step.items() if k not in ("type", "hits", "prompt")}
        prompt = step.get("prompt") if isinstance(step.get("prompt"), dict) else None
        hits = None
        if kind == "retrieval":
            hits = [
                {**hit, "passage": hit.get("text") or hit.get("snippet") or ""}
                for hit in step.get("hits") or []
                if isinstance(hit, dict)
            ]
        steps.append(
            {
                "type": kind,
                "hits": hits,
                "duration_ms": step.get("duration_ms"),
                "details": details,
                "details_json": pretty_json(details),
                "prompt": _prompt_rows(prompt) if prompt else None,
                "prompt_tools": (prompt or {}).get("tools") or [],
                "prompt_truncated": bool((prompt or {}).get("truncated")),
            }
        )
    return steps


def _prompt_rows(prompt: dict[str, Any]) -> list[dict[str, str]]:
    """Each message sent to the model: its role and its text (tool calls and results as JSON)."""
    rows = []
    for entry in prompt.get("messages") or []:
        if not isinstance(entry, dict):
            continue
        content = entry.get("content")
        text = content if isinstance(content, str) else pretty_json(content) if content else ""
        if entry.get("tool_calls"):
            text = (text + "\n" if text else "") + pretty_json(entry["tool_calls"])
        role = str(entry.get("role", ""))
        if entry.get("tool_call_id"):
            role += f" · {entry['tool_call_id']}"
        rows.append({"role": role, "text": text})
    return rows


_STATE_BADGES = {MessageState.COMPLETED: "ok", MessageState.FAILED: "bad", MessageState.CANCELLED: "muted"}


@login_required
def conversation_detail(request: HttpRequest, conversation_id: str) -> HttpResponse:
    access = page_access(request)
    conversation = (
        Conversation.objects.for_workspace(access.workspace).select_related("bot").filter(pk=conversation_id).first()
    )
    if conversation is None:
        raise Http404("No such conversation.")
    rows = []
    total_cost = 0
    total_tokens = 0
    for message in conversation.messages.order_by("created_at").prefetch_related(
        Prefetch("tool_calls", queryset=ToolCall.objects.order_by("step", "created_at"))
    ):
        total_cost += message.cost
        total_tokens += message.input_tokens + message.output_tokens
        rows.append(
            {
                "message": message,
                "badge": _STATE_BADGES.get(message.state, ""),
                "latency": _latency(message),
                "trace": _trace_steps(message),
                "tool_calls": [
                    {"call": call, "arguments_json": pretty_json(call.arguments)} for call in message.tool_calls.all()
                ],
                "error": message.error if isinstance(message.error, dict) else None,
            }
        )
    return render(
        request,
        "bots/conversation_detail.html",
        {
            "conversation": conversation,
            "bot": conversation.bot,
            "rows": rows,
            "member_email": _member_emails(access, [conversation.end_user]).get(conversation.end_user, ""),
            "inputs_json": pretty_json(conversation.inputs) if conversation.inputs else "",
            "total_cost": total_cost,
            "total_tokens": total_tokens,
            "can_edit": can_edit(access),
        },
    )


@require_POST
@login_required
def bot_delete_view(request: HttpRequest, bot_id: str) -> HttpResponse:
    access = page_access(request)
    bot = _bot(access, bot_id)
    if not can_edit(access):
        return forbidden(request, _EDITORS_ONLY)
    name = bot.name
    services.bot_delete(bot=bot)
    messages.success(request, _("Deleted %(name)s with its versions and conversations.") % {"name": name})
    return redirect("bots:bot_list")


@require_POST
@login_required
def conversation_delete_view(request: HttpRequest, conversation_id: str) -> HttpResponse:
    access = page_access(request)
    conversation = Conversation.objects.for_workspace(access.workspace).filter(pk=conversation_id).first()
    if conversation is None:
        raise Http404("No such conversation.")
    if not can_edit(access):
        return forbidden(request, _("Only workspace editors, admins and owners delete conversations."))
    services.conversation_delete(conversation=conversation)
    messages.success(request, _("Deleted the conversation."))
    return redirect("bots:log_list")

"""The Logs page: conversations across bots with search, filters, pages and exports."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.pages import page_access
from bots import logs
from bots.models import Bot, Channel, MessageState
from switchboard.errors import DomainError

RATINGS = [
    ("", _("any rating")),
    ("good", _("👍 good")),
    ("bad", _("👎 bad")),
    ("rated", _("rated")),
    ("unrated", _("not rated")),
]


class LogFilterForm(forms.Form):
    q = forms.CharField(required=False, label=_("Search"), max_length=logs.MAX_SEARCH_CHARS + 1)
    bot = forms.ChoiceField(required=False, label=_("Bot"))
    version = forms.IntegerField(required=False, min_value=1, label=_("Version"))
    channel = forms.ChoiceField(required=False, choices=[("", _("any channel")), *Channel.choices], label=_("Channel"))
    user = forms.CharField(required=False, max_length=255, label=_("User"))
    rating = forms.ChoiceField(required=False, choices=RATINGS, label=_("Rating"))
    state = forms.ChoiceField(
        required=False, choices=[("", _("any state")), *MessageState.choices], label=_("An answer's state")
    )
    date_from = forms.DateField(required=False, label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, bots, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["bot"].choices = [("", "all bots"), *((bot.pk, bot.name) for bot in bots)]

    def filters(self) -> logs.LogFilters:
        data = self.cleaned_data
        return logs.LogFilters(
            bot_id=data.get("bot") or "",
            version=data.get("version"),
            channel=data.get("channel") or "",
            user=(data.get("user") or "").strip(),
            rating=data.get("rating") or "",
            state=data.get("state") or "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            search=(data.get("q") or "").strip(),
        )


def _form(request: HttpRequest, workspace) -> LogFilterForm:
    bots = Bot.objects.for_workspace(workspace).only("id", "name").order_by("name")
    return LogFilterForm(request.GET or None, bots=bots)


@login_required
def log_list(request: HttpRequest) -> HttpResponse:
    access = page_access(request)
    form = _form(request, access.workspace)
    conversations: list = []
    cursor = ""
    error = ""
    if form.is_bound and not form.is_valid():
        error = _("Fix the filters marked below.")
    else:
        try:
            rows = logs.conversations(workspace=access.workspace, filters=_filters(form))
            conversations, cursor = logs.page(rows, before=request.GET.get("before", ""))
        except DomainError as exc:
            error = exc.message
            field = exc.param if exc.param in form.fields else None
            if form.is_bound and field:
                form.add_error(field, exc.message)
    query = request.GET.copy()
    query.pop("before", None)
    return render(
        request,
        "bots/logs.html",
        {
            "form": form,
            "conversations": conversations,
            "next_query": _with(query, before=cursor) if cursor else "",
            "export_query": query.urlencode(),
            "error": error,
            "paged": bool(request.GET.get("before")),
        },
    )


def _filters(form: LogFilterForm) -> logs.LogFilters:
    return form.filters() if form.is_bound else logs.LogFilters()


def _with(query, **changes) -> str:
    copy = query.copy()
    for key, value in changes.items():
        copy[key] = value
    return copy.urlencode()


@login_required
def log_export(request: HttpRequest, fmt: str) -> HttpResponse:
    """The filtered conversations' messages as CSV or JSON Lines, streamed."""
    if fmt not in ("csv", "jsonl"):
        raise Http404("Exports are .csv or .jsonl.")
    access = page_access(request)
    form = _form(request, access.workspace)
    if form.is_bound and not form.is_valid():
        return HttpResponse(
            "The filters are not valid: " + "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    try:
        rows = logs.conversations(workspace=access.workspace, filters=_filters(form))
    except DomainError as exc:
        return HttpResponse(exc.message, status=400, content_type="text/plain; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    if fmt == "csv":
        response = StreamingHttpResponse(logs.as_csv(logs.export_rows(rows)), content_type="text/csv; charset=utf-8")
    else:
        response = StreamingHttpResponse(
            logs.as_jsonl(logs.export_rows(rows)), content_type="application/x-ndjson; charset=utf-8"
        )
    response["Content-Disposition"] = f'attachment; filename="switchboard-logs-{stamp}.{fmt}"'
    return response

"""The Usage page: per-day plots for the workspace or one bot over a chosen range."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.safestring import mark_safe

from accounts.pages import page_access
from bots import charts, usage
from bots.models import Bot
from switchboard.errors import DomainError

RANGES = [("7", "last 7 days"), ("30", "last 30 days"), ("90", "last 90 days"), ("365", "last 365 days")]


class UsageForm(forms.Form):
    bot = forms.ChoiceField(required=False, label="Bot")
    days = forms.ChoiceField(required=False, choices=RANGES, label="Range", initial="30")
    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, bots, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["bot"].choices = [("", "all bots"), *((bot.pk, bot.name) for bot in bots)]


@login_required
def usage_page(request: HttpRequest) -> HttpResponse:
    access = page_access(request)
    bots = Bot.objects.for_workspace(access.workspace).only("id", "name").order_by("name")
    form = UsageForm(request.GET or None, bots=bots)
    today = timezone.localdate()
    start, end, bot_id = today - timedelta(days=29), today, None
    error = ""
    if form.is_bound and not form.is_valid():
        error = "Fix the choices marked below."
    elif form.is_bound:
        data = form.cleaned_data
        bot_id = data.get("bot") or None
        if data.get("date_from") or data.get("date_to"):
            start = data.get("date_from") or (data.get("date_to") or today) - timedelta(days=29)
            end = data.get("date_to") or today
        elif data.get("days"):
            start = today - timedelta(days=int(data["days"]) - 1)
    figures = None
    if not error:
        try:
            figures = usage.usage_by_day(workspace=access.workspace, start=start, end=end, bot_id=bot_id)
        except DomainError as exc:
            error = exc.message
            if exc.param in form.fields and form.is_bound:
                form.add_error(exc.param, exc.message)
    return render(
        request,
        "bots/usage.html",
        {"form": form, "error": error, "start": start, "end": end, "figures": figures, "plots": _plots(figures)},
    )


def _plots(figures: usage.Usage | None) -> list[dict]:
    if figures is None:
        return []
    labels = [day.day.strftime("%m-%d") for day in figures.days]
    plain = [
        ("Conversations", "conversations", ""),
        ("Messages", "messages", ""),
        ("Active end users", "active_users", ""),
        ("Tokens", "tokens", ""),
        ("Cost", "cost", "$"),
        ("Errors", "errors", ""),
    ]
    plots = [
        {
            "title": title,
            "svg": mark_safe(  # built from escaped parts by bots.charts
                charts.chart(title, labels, [charts.Series(title, [float(v) for v in figures.series(name)])], unit=unit)
            ),
        }
        for title, name, unit in plain
    ]
    ttft = charts.chart(
        "Time to first token",
        labels,
        [
            charts.Series("p50", figures.series("ttft_p50"), "series-1"),
            charts.Series("p95", figures.series("ttft_p95"), "series-2"),
        ],
        unit=" ms",
        kind="line",
    )
    plots.insert(5, {"title": "Time to first token (p50, p95)", "svg": mark_safe(ttft)})  # built from escaped parts
    return plots

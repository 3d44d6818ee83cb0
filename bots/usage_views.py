"""The Usage page: per-day plots for the workspace or one bot over a chosen range."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_POST

from accounts.models import ApiKey
from accounts.pages import can_admin, forbidden, page_access
from bots import budgets, charts, usage
from bots.models import Bot, Budget
from switchboard.errors import DomainError

RANGES = [
    ("7", _("last 7 days")),
    ("30", _("last 30 days")),
    ("90", _("last 90 days")),
    ("365", _("last 365 days")),
]


class UsageForm(forms.Form):
    bot = forms.ChoiceField(required=False, label=_("Bot"))
    days = forms.ChoiceField(required=False, choices=RANGES, label=_("Range"), initial="30")
    date_from = forms.DateField(required=False, label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))

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
        error = _("Fix the choices marked below.")
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
        {
            "form": form,
            "error": error,
            "start": start,
            "end": end,
            "figures": figures,
            "plots": _plots(figures),
            "budgets": budgets.statuses(workspace=access.workspace),
            "budget_form": BudgetForm(workspace=access.workspace),
            "can_admin": can_admin(access),
        },
    )


class BudgetForm(forms.Form):
    target = forms.ChoiceField(label=_("For"))
    monthly_tokens = forms.IntegerField(required=False, min_value=1, label=_("Tokens a month"))
    monthly_cost = forms.DecimalField(
        required=False, min_value=Decimal("0.01"), max_digits=14, decimal_places=2, label=_("Cost a month ($)")
    )

    def __init__(self, *args, workspace, **kwargs):
        super().__init__(*args, **kwargs)
        bots = Bot.objects.for_workspace(workspace).only("id", "name").order_by("name")
        keys = ApiKey.objects.for_workspace(workspace).filter(revoked_at__isnull=True).order_by("name")
        self.fields["target"].choices = [
            (_("Bots"), [(f"bot:{bot.pk}", bot.name) for bot in bots]),
            (_("API keys"), [(f"key:{key.pk}", f"{key.name} ({key.prefix}…)") for key in keys]),
        ]


@require_POST
@login_required
def budget_save(request: HttpRequest) -> HttpResponse:
    access = page_access(request)
    if not can_admin(access):
        return forbidden(request, _ADMINS_ONLY)
    form = BudgetForm(request.POST, workspace=access.workspace)
    if not form.is_valid():
        messages.error(request, _("The budget was not saved: %(problems)s") % {"problems": _form_problems(form)})
        return redirect("bots:usage")
    kind, _colon, target_id = form.cleaned_data["target"].partition(":")
    bot = Bot.objects.for_workspace(access.workspace).filter(pk=target_id).first() if kind == "bot" else None
    key = ApiKey.objects.for_workspace(access.workspace).filter(pk=target_id).first() if kind == "key" else None
    try:
        budgets.budget_set(
            workspace=access.workspace,
            bot=bot,
            api_key=key,
            monthly_tokens=form.cleaned_data["monthly_tokens"],
            monthly_cost=form.cleaned_data["monthly_cost"],
        )
    except DomainError as exc:
        messages.error(request, _("The budget was not saved: %(problems)s") % {"problems": exc.message})
    else:
        messages.success(request, _("Saved the budget."))
    return redirect("bots:usage")


@require_POST
@login_required
def budget_delete_view(request: HttpRequest, budget_id: str) -> HttpResponse:
    access = page_access(request)
    budget = Budget.objects.for_workspace(access.workspace).filter(pk=budget_id).first()
    if budget is None:
        raise Http404("No such budget.")
    if not can_admin(access):
        return forbidden(request, _ADMINS_ONLY)
    budgets.budget_delete(budget=budget)
    messages.success(request, _("Removed the budget."))
    return redirect("bots:usage")


_ADMINS_ONLY = _("Only workspace admins and owners set budgets.")


def _form_problems(form: forms.Form) -> str:
    return "; ".join(
        f"{form.fields[name].label if name in form.fields else ''}: {' '.join(errors)}".lstrip(": ")
        for name, errors in form.errors.items()
    )


def _plots(figures: usage.Usage | None) -> list[dict]:
    if figures is None:
        return []
    labels = [day.day.strftime("%m-%d") for day in figures.days]
    plain = [
        (gettext_noop("Conversations"), "conversations", ""),
        (gettext_noop("Messages"), "messages", ""),
        (gettext_noop("Active end users"), "active_users", ""),
        (gettext_noop("Tokens"), "tokens", ""),
        (gettext_noop("Cost"), "cost", "$"),
        (gettext_noop("Errors"), "errors", ""),
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
    plots.insert(
        5, {"title": gettext_noop("Time to first token (p50, p95)"), "svg": mark_safe(ttft)}
    )  # built from escaped parts
    return plots

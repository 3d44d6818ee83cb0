"""Monthly budgets of bots and API keys: what they used this month, warnings, refusals.

A turn is checked when it is accepted: at 80 % of a budget the caller is warned (a response
header on the chat APIs, a banner in the UI); at 100 % the turn is refused with a message saying
who can raise the limit. Spend is summed in SQL over this month's (UTC) answers and kept in Redis
for BUDGET_SPEND_CACHE_SECONDS, so a busy bot pays for the sum once in a while, not per turn; the
cost is that a budget can be overrun by what is spent in that window.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import redis
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, Sum
from django.utils import timezone

from accounts.models import AuditAction, Workspace
from accounts.services import audit_record
from bots.models import Bot, Budget, Message
from switchboard import redis_clients
from switchboard.errors import InvalidInput, RateLimited
from switchboard.queries import PreparedQuery

WARN_AT = 0.8


@dataclass(frozen=True)
class Spend:
    tokens: int
    cost: Decimal


@dataclass(frozen=True)
class BudgetStatus:
    budget: Budget
    what: str  # "bot Support" / "API key ci-bot"
    spend: Spend

    @property
    def used(self) -> float:
        """The larger share used of the limits set (tokens, cost)."""
        shares = []
        if self.budget.monthly_tokens:
            shares.append(self.spend.tokens / self.budget.monthly_tokens)
        if self.budget.monthly_cost:
            shares.append(float(self.spend.cost / self.budget.monthly_cost))
        return max(shares, default=0.0)

    @property
    def percent(self) -> int:
        return int(self.used * 100)

    @property
    def warning(self) -> bool:
        return self.used >= WARN_AT

    @property
    def exhausted(self) -> bool:
        return self.used >= 1

    def describe(self) -> str:
        limits = []
        if self.budget.monthly_tokens:
            limits.append(f"{self.spend.tokens:,} of {self.budget.monthly_tokens:,} tokens")
        if self.budget.monthly_cost:
            limits.append(f"${self.spend.cost:,.4f} of ${self.budget.monthly_cost:,.2f}")
        return f"The {self.what} has used {self.percent} % of its monthly budget ({'; '.join(limits)})."


def month_start(now: datetime | None = None) -> datetime:
    now = (now or timezone.now()).astimezone(UTC)
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _seconds_to_next_month(now: datetime | None = None) -> float:
    start = month_start(now)
    following = (
        start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
    )
    return (following - (now or timezone.now())).total_seconds()


def spend(budget: Budget) -> Spend:
    """This month's tokens and cost of the budget's bot or key (cached briefly in Redis)."""
    start = month_start()
    key = f"budget:spend:{budget.bot_id or budget.api_key_id}:{start:%Y%m}"
    ttl = settings.BUDGET_SPEND_CACHE_SECONDS
    if ttl:
        try:
            cached = redis_clients.client().get(key)
        except redis.RedisError:
            cached = None
        if cached:
            data = json.loads(cached)
            return Spend(tokens=data["tokens"], cost=Decimal(data["cost"]))
    answers = Message.objects.filter(workspace_id=budget.workspace_id, role="assistant", created_at__gte=start)
    answers = (
        answers.filter(conversation__bot_id=budget.bot_id)
        if budget.bot_id
        else answers.filter(api_key=budget.api_key_id)
    )
    sums = answers.aggregate(tokens=Sum(F("input_tokens") + F("output_tokens")), cost=Sum("cost"))
    result = Spend(tokens=int(sums["tokens"] or 0), cost=sums["cost"] or Decimal(0))
    if ttl:
        with contextlib.suppress(redis.RedisError):  # else the next check sums again
            redis_clients.client().set(key, json.dumps({"tokens": result.tokens, "cost": str(result.cost)}), ex=ttl)
    return result


def status_of(budget: Budget) -> BudgetStatus:
    if budget.bot is not None:
        what = f"bot {budget.bot.name}"
    else:
        what = f"API key {budget.api_key.name}" if budget.api_key is not None else "API key"
    return BudgetStatus(budget=budget, what=what, spend=spend(budget))


def statuses(*, workspace: Workspace) -> list[BudgetStatus]:
    budgets = Budget.objects.for_workspace(workspace).select_related("bot", "api_key").order_by("created_at")
    return [status_of(budget) for budget in budgets]


# Every turn runs this lookup: compiled once (switchboard.queries.PreparedQuery).
_TURN_BUDGETS = PreparedQuery(
    lambda workspace_id, bot_id, api_key_id: (
        Budget.objects.filter(workspace_id=workspace_id)
        .filter(Q(bot_id=bot_id) | Q(api_key_id=api_key_id))
        .select_related("bot", "api_key")
        .order_by("created_at")
    ),
    parameters=["workspace_id", "bot_id", "api_key_id"],
)


def check_turn(*, bot: Bot, api_key_id: str | None) -> list[BudgetStatus]:
    """The budgets a new turn of `bot` (sent with `api_key_id`) falls under; RateLimited when one
    is used up. The returned ones at 80 % or more are warnings for the caller."""
    # No key has the empty id: a turn without a key matches on its bot only.
    budgets = _TURN_BUDGETS.all(workspace_id=bot.workspace_id, bot_id=bot.pk, api_key_id=api_key_id or "")
    found = [status_of(budget) for budget in budgets]
    for status in found:
        if status.exhausted:
            raise RateLimited(
                status.describe() + " New messages are refused until the month ends (UTC) or a workspace admin "
                "raises the budget on the Usage page.",
                code="budget_exceeded",
                retry_after=_seconds_to_next_month(),
                details={"budget_id": status.budget.pk},
            )
    return [status for status in found if status.warning]


def warning_headers(warnings: list[BudgetStatus]) -> dict[str, str]:
    """Response headers for a caller whose turn was accepted under budgets at 80 % or more."""
    if not warnings:
        return {}
    worst = max(warnings, key=lambda status: status.used)
    target = worst.budget.bot_id or worst.budget.api_key_id
    return {
        "X-Budget-Used": f"{worst.used:.2f}",
        "X-Budget-Warning": f"{target} has used {worst.percent}% of its monthly budget",
    }


def budget_set(
    *,
    workspace: Workspace,
    bot: Bot | None = None,
    api_key: Any = None,
    monthly_tokens: int | None,
    monthly_cost: Decimal | None,
) -> Budget:
    """Set (or change) the budget of one bot or one API key of the workspace."""
    if (bot is None) == (api_key is None):
        raise InvalidInput("A budget is for one bot or one API key.", code="invalid_target", param="target")
    if not monthly_tokens and not monthly_cost:
        raise InvalidInput(
            "Give a monthly token limit, a monthly cost limit, or both.", code="budget_empty", param="monthly_tokens"
        )
    for target in (bot, api_key):
        if target is not None and target.workspace_id != workspace.pk:
            raise InvalidInput("That bot or key is not in this workspace.", code="invalid_target", param="target")
    with transaction.atomic():
        budget, _ = Budget.objects.update_or_create(
            workspace=workspace,
            bot=bot,
            api_key=api_key,
            defaults={"monthly_tokens": monthly_tokens or None, "monthly_cost": monthly_cost or None},
        )
        audit_record(
            workspace=workspace,
            action=AuditAction.BUDGET_SET,
            target=bot or api_key,
            details={"monthly_tokens": budget.monthly_tokens, "monthly_cost": str(budget.monthly_cost or "")},
        )
    return budget


def budget_delete(*, budget: Budget) -> None:
    with transaction.atomic():
        audit_record(workspace=budget.workspace, action=AuditAction.BUDGET_DELETE, target=budget.bot or budget.api_key)
        budget.delete()

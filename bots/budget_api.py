"""REST API: monthly budgets of bots and API keys (`/api/v1/budgets`), with what they used.

Every member reads them; admins and owners set and remove them (a budget can stop a bot).
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from accounts.models import ApiKey, Role
from accounts.tenancy import WorkspaceScopedMixin
from bots import budgets
from bots.models import Bot, Budget
from switchboard.api.schema import error_responses
from switchboard.errors import InvalidInput

_errors = error_responses()


class BudgetSerializer(serializers.ModelSerializer):
    bot_id = serializers.CharField(allow_null=True, read_only=True)
    api_key_id = serializers.CharField(allow_null=True, read_only=True)
    used = serializers.SerializerMethodField(help_text="This month (UTC): tokens, cost, and the share of the limit.")

    class Meta:
        model = Budget
        fields = ["id", "bot_id", "api_key_id", "monthly_tokens", "monthly_cost", "used", "created_at", "updated_at"]

    def get_used(self, budget: Budget) -> dict:
        status_ = budgets.status_of(budget)
        return {
            "tokens": status_.spend.tokens,
            "cost": str(status_.spend.cost),
            "fraction": round(status_.used, 4),
            "warning": status_.warning,
            "exhausted": status_.exhausted,
        }


class BudgetInputSerializer(serializers.Serializer):
    bot_id = serializers.CharField(required=False, allow_null=True, default=None)
    api_key_id = serializers.CharField(required=False, allow_null=True, default=None)
    monthly_tokens = serializers.IntegerField(required=False, allow_null=True, min_value=1, default=None)
    monthly_cost = serializers.DecimalField(
        required=False, allow_null=True, max_digits=14, decimal_places=4, min_value=0, default=None
    )


class BudgetListCreateApi(WorkspaceScopedMixin, generics.ListAPIView):
    """Budgets of the workspace's bots and API keys. POST sets one (or changes the target's)."""

    queryset = Budget.objects.select_related("bot", "api_key").order_by("created_at")
    serializer_class = BudgetSerializer
    write_role = Role.ADMIN

    @extend_schema(request=BudgetInputSerializer, responses={201: BudgetSerializer, **_errors(400, 403)})
    def post(self, request):
        data = BudgetInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        params = data.validated_data
        bot = key = None
        if params["bot_id"]:
            bot = Bot.objects.for_workspace(self.workspace).filter(pk=params["bot_id"]).first()
            if bot is None:
                raise InvalidInput(f"No bot {params['bot_id']!r} in this workspace.", code="not_found", param="bot_id")
        if params["api_key_id"]:
            key = ApiKey.objects.for_workspace(self.workspace).filter(pk=params["api_key_id"]).first()
            if key is None:
                raise InvalidInput(
                    f"No API key {params['api_key_id']!r} in this workspace.", code="not_found", param="api_key_id"
                )
        budget = budgets.budget_set(
            workspace=self.workspace,
            bot=bot,
            api_key=key,
            monthly_tokens=params["monthly_tokens"],
            monthly_cost=params["monthly_cost"],
        )
        return Response(BudgetSerializer(budget).data, status=status.HTTP_201_CREATED)


class BudgetDetailApi(WorkspaceScopedMixin, generics.RetrieveAPIView):
    queryset = Budget.objects.select_related("bot", "api_key")
    serializer_class = BudgetSerializer
    write_role = Role.ADMIN

    @extend_schema(responses={204: None, **_errors(403, 404)})
    def delete(self, request, pk: str):
        budgets.budget_delete(budget=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

"""The workspace API for a bot's widget: read and change its settings, make a new identity secret.

Owners automate with these what the Embed & share page does; they take a workspace API key (full
scope), never a visitor session.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.tenancy import WorkspaceScopedMixin
from bots.models import Bot, BotWidget, WidgetPosition
from bots.widget.selectors import widget_for_bot
from bots.widget.services import WIDGET_SETTINGS, widget_rotate_identity_secret, widget_update


class WidgetSerializer(serializers.ModelSerializer):
    identity_secret_set = serializers.SerializerMethodField()
    position = serializers.ChoiceField(choices=WidgetPosition.choices, required=False)
    allowed_origins = serializers.ListField(child=serializers.CharField(max_length=300), required=False)

    class Meta:
        model = BotWidget
        fields = ["public_id", *WIDGET_SETTINGS, "identity_secret_set"]
        read_only_fields = ["public_id"]

    def get_identity_secret_set(self, widget: BotWidget) -> bool:
        return bool(widget.identity_secret)


class _WidgetMixin(WorkspaceScopedMixin):
    def get_bot(self, bot_id: str) -> Bot:
        return generics.get_object_or_404(Bot.objects.filter(workspace=self.workspace), pk=bot_id)


class BotWidgetApi(_WidgetMixin, APIView):
    """The bot's widget and share-page settings. Origins are stored as browsers send them."""

    @extend_schema(responses=WidgetSerializer)
    def get(self, request, pk: str):
        return Response(WidgetSerializer(widget_for_bot(bot=self.get_bot(pk))).data)

    @extend_schema(request=WidgetSerializer, responses=WidgetSerializer)
    def patch(self, request, pk: str):
        bot = self.get_bot(pk)
        data = WidgetSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        return Response(WidgetSerializer(widget_update(bot=bot, **data.validated_data)).data)


class BotWidgetSecretApi(_WidgetMixin, APIView):
    """Make a new identity secret; the answer is the only time it is shown."""

    @extend_schema(
        request=None, responses=inline_serializer("WidgetIdentitySecret", {"identity_secret": serializers.CharField()})
    )
    def post(self, request, pk: str):
        return Response({"identity_secret": widget_rotate_identity_secret(bot=self.get_bot(pk))}, status=201)

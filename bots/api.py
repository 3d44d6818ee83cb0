"""REST API: bots (draft config), publishing and versions."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_serializer
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.tenancy import WorkspaceScopedMixin
from bots.config import BotConfigSerializer
from bots.models import Bot, BotVersion
from bots.services import bot_create, bot_delete, bot_publish, bot_restore_version, bot_update


class BotWarningSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class BotOutputSerializer(serializers.ModelSerializer):
    config = BotConfigSerializer(help_text="The draft configuration.")
    published_version = serializers.IntegerField(
        source="published_version.number",
        allow_null=True,
        default=None,
        help_text="Number of the version public channels serve.",
    )
    warnings = serializers.SerializerMethodField(
        help_text="Problems with the draft worth fixing, e.g. more tools than a model accepts (128)."
    )

    class Meta:
        model = Bot
        fields = [
            "id",
            "name",
            "slug",
            "description",
            "avatar",
            "config",
            "published_version",
            "warnings",
            "created_at",
            "updated_at",
        ]

    @extend_schema_field(BotWarningSerializer(many=True))
    def get_warnings(self, bot: Bot) -> list[dict[str, str]]:
        from bots.selectors import bot_warnings

        return bot_warnings(bot=bot)


class BotInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    slug = serializers.SlugField(max_length=64, required=False)
    description = serializers.CharField(allow_blank=True, required=False, max_length=2000)
    avatar = serializers.CharField(allow_blank=True, required=False, max_length=500)
    config = serializers.DictField(
        required=False,
        help_text="Sections given replace the draft's sections key by key; the result is validated whole.",
    )


class BotCreateInputSerializer(BotInputSerializer):
    name = serializers.CharField(max_length=100)


def _user(request):
    return request.user if getattr(request.user, "pk", None) else None


class BotListCreateApi(WorkspaceScopedMixin, generics.ListAPIView):
    queryset = Bot.objects.select_related("published_version")
    serializer_class = BotOutputSerializer

    @extend_schema(request=BotCreateInputSerializer, responses={201: BotOutputSerializer})
    def post(self, request):
        data = BotCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        bot = bot_create(workspace=self.workspace, created_by=_user(request), **data.validated_data)
        return Response(BotOutputSerializer(bot).data, status=status.HTTP_201_CREATED)


class BotDetailApi(WorkspaceScopedMixin, generics.RetrieveDestroyAPIView):
    queryset = Bot.objects.select_related("published_version")
    serializer_class = BotOutputSerializer

    @extend_schema(request=BotInputSerializer, responses=BotOutputSerializer)
    def patch(self, request, pk: str):
        bot = self.get_object()
        data = BotInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        bot = bot_update(bot=bot, **data.validated_data)
        return Response(BotOutputSerializer(bot).data)

    def perform_destroy(self, instance: Bot) -> None:
        bot_delete(bot=instance)


class BotVersionSerializer(serializers.ModelSerializer):
    config = BotConfigSerializer()
    is_published = serializers.SerializerMethodField()

    class Meta:
        model = BotVersion
        fields = ["number", "note", "config", "created_at", "is_published"]

    def get_is_published(self, version: BotVersion) -> bool:
        return version.bot.published_version_id == version.pk


class _BotChildMixin(WorkspaceScopedMixin):
    def get_bot(self, bot_id: str) -> Bot:
        return generics.get_object_or_404(Bot.objects.filter(workspace=self.workspace), pk=bot_id)


class BotPublishApi(_BotChildMixin, APIView):
    """Snapshot the draft as a new version; public channels serve it from now on."""

    @extend_schema_serializer(component_name="BotPublishInput")
    class InputSerializer(serializers.Serializer):
        note = serializers.CharField(
            required=False,
            allow_blank=True,
            max_length=200,
            default="",
            help_text="What changed, shown in the version history.",
        )

    @extend_schema(request=InputSerializer, responses={201: BotVersionSerializer})
    def post(self, request, pk: str):
        bot = self.get_bot(pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        version = bot_publish(bot=bot, note=data.validated_data["note"], published_by=_user(request))
        return Response(BotVersionSerializer(version).data, status=status.HTTP_201_CREATED)


class BotVersionListApi(_BotChildMixin, generics.ListAPIView):
    serializer_class = BotVersionSerializer
    pagination_class = None

    def get_queryset(self):
        return self.get_bot(self.kwargs["pk"]).versions.select_related("bot")

    @extend_schema(parameters=[OpenApiParameter("pk", str, OpenApiParameter.PATH)])
    def get(self, request, *args, **kwargs):
        return Response({"data": self.get_serializer(self.get_queryset(), many=True).data, "next_cursor": None})


class BotVersionDetailApi(_BotChildMixin, APIView):
    @extend_schema(responses=BotVersionSerializer)
    def get(self, request, pk: str, number: int):
        version = generics.get_object_or_404(self.get_bot(pk).versions.select_related("bot"), number=number)
        return Response(BotVersionSerializer(version).data)


class BotVersionRestoreApi(_BotChildMixin, APIView):
    """Copy a version's configuration into the draft."""

    @extend_schema(request=None, responses=BotOutputSerializer)
    def post(self, request, pk: str, number: int):
        bot = bot_restore_version(bot=self.get_bot(pk), number=number)
        return Response(BotOutputSerializer(bot).data)

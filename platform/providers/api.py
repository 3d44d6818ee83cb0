"""REST API: model providers, their model catalogues, and the models a workspace can use.

Reads need the viewer role, every write (including a connection test) needs admin: a provider
holds a paid API key. Provider output never carries the key, only whether one is stored and its
last four characters.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
    inline_serializer,
)
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from accounts.models import Role
from accounts.tenancy import WorkspaceScopedMixin
from providers import builtin_embedders, selectors
from providers.models import ModelKind, Provider, ProviderKind, ProviderModel
from providers.services import (
    provider_create,
    provider_delete,
    provider_model_create,
    provider_model_delete,
    provider_model_update,
    provider_test,
    provider_update,
)
from switchboard.api.schema import error_responses

_KIND_HELP = (
    "`openai` (base_url empty for api.openai.com), `azure_openai` (base_url "
    "https://<resource>.openai.azure.com and api_version required), or `openai_compatible` "
    "(base_url required, e.g. http://localhost:11434/v1 for Ollama, https://api.deepseek.com/v1)."
)
_BAD_KIND = {"invalid_choice": f'Unknown provider kind "{{input}}"; use one of {", ".join(ProviderKind.values)}.'}
_BAD_MODEL_KIND = {"invalid_choice": f'Unknown model kind "{{input}}"; use one of {", ".join(ModelKind.values)}.'}


_errors = error_responses(
    _403="The caller's role is below admin.",
    _409="Conflicts with existing state, e.g. a duplicate name or model.",
)


# Named schema components: several serializers have a `kind`, and each must name its own choices.
@extend_schema_field({"type": "string", "enum": ProviderKind.values}, component_name="ProviderKind")
class ProviderKindField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=ProviderKind.choices, error_messages=_BAD_KIND, **kwargs)


@extend_schema_field({"type": "string", "enum": ModelKind.values}, component_name="ModelKind")
class ModelKindField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=ModelKind.choices, error_messages=_BAD_MODEL_KIND, **kwargs)


# -- providers --------------------------------------------------------------------------------------


@extend_schema_serializer(component_name="Provider")
class ProviderOutputSerializer(serializers.ModelSerializer):
    kind = ProviderKindField(read_only=True)
    has_api_key = serializers.SerializerMethodField()
    api_key_hint = serializers.SerializerMethodField()

    class Meta:
        model = Provider
        fields = [
            "id",
            "name",
            "kind",
            "base_url",
            "effective_base_url",
            "api_version",
            "timeout_seconds",
            "is_enabled",
            "has_api_key",
            "api_key_hint",
            "last_tested_at",
            "last_test_ok",
            "last_test_message",
            "created_at",
            "updated_at",
        ]

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_has_api_key(self, provider: Provider) -> bool:
        return bool(provider.api_key)

    @extend_schema_field(
        {
            "type": "string",
            "nullable": True,
            "example": "…1234",
            "description": "The stored key's last four characters, to recognise it.",
        }
    )
    def get_api_key_hint(self, provider: Provider) -> str | None:
        return provider.api_key.hint if provider.api_key else None


class ProviderListCreateApi(WorkspaceScopedMixin, generics.ListAPIView):
    """List the workspace's model providers; add one."""

    queryset = Provider.objects.all()
    serializer_class = ProviderOutputSerializer
    write_role = Role.ADMIN

    @extend_schema_serializer(component_name="ProviderCreateInput")
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=100)
        kind = ProviderKindField(help_text=_KIND_HELP)
        base_url = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
        api_key = serializers.CharField(
            max_length=1000,
            required=False,
            allow_blank=True,
            default="",
            write_only=True,
            help_text="Stored encrypted; never returned.",
        )
        api_version = serializers.CharField(
            max_length=40, required=False, allow_blank=True, default="", help_text="Azure OpenAI only, e.g. 2024-10-21."
        )
        timeout_seconds = serializers.IntegerField(min_value=1, max_value=600, required=False, default=60)

    @extend_schema(operation_id="providers_list", summary="List providers")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="providers_create",
        summary="Add a provider",
        request=InputSerializer,
        responses={201: ProviderOutputSerializer, **_errors(400, 403, 409)},
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        provider = provider_create(workspace=self.workspace, **data.validated_data)
        return Response(ProviderOutputSerializer(provider).data, status=status.HTTP_201_CREATED)


class ProviderDetailApi(WorkspaceScopedMixin, generics.RetrieveAPIView):
    """Show, change or delete a provider (deleting it deletes its model catalogue)."""

    queryset = Provider.objects.all()
    serializer_class = ProviderOutputSerializer
    write_role = Role.ADMIN

    @extend_schema_serializer(component_name="ProviderUpdateInput")
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=100, required=False)
        kind = ProviderKindField(required=False, help_text=_KIND_HELP)
        base_url = serializers.CharField(max_length=500, required=False, allow_blank=True)
        api_key = serializers.CharField(
            max_length=1000,
            required=False,
            allow_blank=True,
            allow_null=True,
            write_only=True,
            help_text='Omit to keep the stored key; "" (or null) removes it; any other value replaces it.',
        )
        api_version = serializers.CharField(max_length=40, required=False, allow_blank=True)
        timeout_seconds = serializers.IntegerField(min_value=1, max_value=600, required=False)
        is_enabled = serializers.BooleanField(required=False)

    @extend_schema(
        operation_id="providers_retrieve",
        summary="Show a provider",
        responses={200: ProviderOutputSerializer, **_errors(404)},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="providers_update",
        summary="Change a provider",
        request=InputSerializer,
        responses={200: ProviderOutputSerializer, **_errors(400, 403, 404, 409)},
    )
    def patch(self, request, pk: str):
        provider = self.get_object()
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        provider = provider_update(provider=provider, **data.validated_data)
        return Response(ProviderOutputSerializer(provider).data)

    @extend_schema(
        operation_id="providers_destroy",
        summary="Delete a provider and its models",
        responses={204: None, **_errors(403, 404, 409)},
    )
    def delete(self, request, pk: str):
        provider_delete(provider=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProviderTestApi(WorkspaceScopedMixin, generics.GenericAPIView):
    """Check that the provider answers with its URL and key, by listing its models (costs no tokens).

    The answer is 200 whether or not the connection works: a failed test is a result, described in
    `message`. The outcome is also stored on the provider (`last_test_ok`, `last_test_message`).
    """

    queryset = Provider.objects.all()
    serializer_class = ProviderOutputSerializer
    pagination_class = None
    write_role = Role.ADMIN

    @extend_schema_serializer(component_name="ProviderTestResult")
    class OutputSerializer(serializers.Serializer):
        ok = serializers.BooleanField()
        message = serializers.CharField()
        latency_ms = serializers.FloatField()
        models = serializers.ListField(
            child=serializers.CharField(), help_text="Model ids the provider lists (empty when the test failed)."
        )

    @extend_schema(
        operation_id="providers_test",
        summary="Test the connection",
        request=None,
        responses={200: OutputSerializer, **_errors(403, 404)},
    )
    def post(self, request, pk: str):
        result = provider_test(provider=self.get_object())
        return Response(self.OutputSerializer(result).data)


# -- a provider's model catalogue -------------------------------------------------------------------


@extend_schema_serializer(component_name="ProviderModel")
class ProviderModelOutputSerializer(serializers.ModelSerializer):
    provider = serializers.CharField(source="provider_id", read_only=True)
    kind = ModelKindField(read_only=True)

    class Meta:
        model = ProviderModel
        fields = [
            "id",
            "provider",
            "model",
            "kind",
            "display_name",
            "context_window",
            "max_output_tokens",
            "embedding_dimensions",
            "supports_tools",
            "supports_json_mode",
            "input_price_per_million",
            "output_price_per_million",
            "is_enabled",
            "created_at",
            "updated_at",
        ]


def _count(**kwargs) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=1, max_value=100_000_000, **kwargs)


def _price(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=12, decimal_places=6, min_value=Decimal("0"), help_text="US dollars per million tokens.", **kwargs
    )


class _ProviderChildMixin(WorkspaceScopedMixin):
    """Views under /providers/{provider_id}/: the provider must be in the caller's workspace."""

    def get_provider(self) -> Provider:
        if not hasattr(self, "_provider"):
            provider = selectors.provider_get(workspace=self.workspace, id=self.kwargs["provider_id"])
            if provider is None:
                raise Http404
            self._provider = provider
        return self._provider

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ProviderModel.objects.none()
        return super().get_queryset().filter(provider=self.get_provider())


class ProviderModelListCreateApi(_ProviderChildMixin, generics.ListAPIView):
    """The provider's model catalogue; add a model to it.

    What a new entry does not state (context window, prices, embedding dimensions) is filled in
    from the catalogue of well-known models, so `{"model": "gpt-4o-mini"}` is enough.
    """

    queryset = ProviderModel.objects.all()
    serializer_class = ProviderModelOutputSerializer
    write_role = Role.ADMIN

    @extend_schema_serializer(component_name="ProviderModelCreateInput")
    class InputSerializer(serializers.Serializer):
        model = serializers.CharField(
            max_length=200, help_text="The provider's model id; the deployment name for Azure OpenAI."
        )
        kind = ModelKindField(default=ModelKind.CHAT)
        display_name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
        context_window = _count(required=False, allow_null=True, default=None)
        max_output_tokens = _count(required=False, allow_null=True, default=None)
        embedding_dimensions = _count(
            required=False,
            allow_null=True,
            default=None,
            help_text="Required for embedding models the catalogue does not know.",
        )
        input_price_per_million = _price(required=False, allow_null=True, default=None)
        output_price_per_million = _price(required=False, allow_null=True, default=None)
        supports_tools = serializers.BooleanField(required=False, default=True)
        supports_json_mode = serializers.BooleanField(required=False, default=True)

    @extend_schema(
        operation_id="providers_models_list",
        summary="List a provider's models",
        responses={200: ProviderModelOutputSerializer(many=True), **_errors(404)},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="providers_models_create",
        summary="Add a model to a provider",
        request=InputSerializer,
        responses={201: ProviderModelOutputSerializer, **_errors(400, 403, 404, 409)},
    )
    def post(self, request, provider_id: str):
        provider = self.get_provider()
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        entry = provider_model_create(provider=provider, **data.validated_data)
        return Response(ProviderModelOutputSerializer(entry).data, status=status.HTTP_201_CREATED)


class ProviderModelDetailApi(_ProviderChildMixin, generics.RetrieveAPIView):
    """Show, change or delete one model of a provider's catalogue."""

    queryset = ProviderModel.objects.all()
    serializer_class = ProviderModelOutputSerializer
    lookup_url_kwarg = "model_id"
    write_role = Role.ADMIN

    @extend_schema_serializer(component_name="ProviderModelUpdateInput")
    class InputSerializer(serializers.Serializer):
        model = serializers.CharField(max_length=200, required=False)
        kind = ModelKindField(required=False)
        display_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
        context_window = _count(required=False, allow_null=True)
        max_output_tokens = _count(required=False, allow_null=True)
        embedding_dimensions = _count(required=False, allow_null=True)
        input_price_per_million = _price(required=False)
        output_price_per_million = _price(required=False)
        supports_tools = serializers.BooleanField(required=False)
        supports_json_mode = serializers.BooleanField(required=False)
        is_enabled = serializers.BooleanField(required=False)

    @extend_schema(
        operation_id="providers_models_retrieve",
        summary="Show a provider's model",
        responses={200: ProviderModelOutputSerializer, **_errors(404)},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="providers_models_update",
        summary="Change a provider's model",
        request=InputSerializer,
        responses={200: ProviderModelOutputSerializer, **_errors(400, 403, 404, 409)},
    )
    def patch(self, request, provider_id: str, model_id: str):
        entry = self.get_object()
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        entry = provider_model_update(provider_model=entry, **data.validated_data)
        return Response(ProviderModelOutputSerializer(entry).data)

    @extend_schema(
        operation_id="providers_models_destroy",
        summary="Remove a model from a provider",
        responses={204: None, **_errors(403, 404, 409)},
    )
    def delete(self, request, provider_id: str, model_id: str):
        provider_model_delete(provider_model=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


# -- the models a workspace can use ---------------------------------------------------------------


@dataclass(frozen=True)
class BuiltinModel:
    """A model that needs no provider, listed beside the providers' models."""

    id: str
    model: str
    kind: str
    display_name: str
    embedding_dimensions: int | None
    context_window: int | None = None
    max_output_tokens: int | None = None
    supports_tools: bool = False
    supports_json_mode: bool = False
    input_price_per_million: Decimal = Decimal("0")
    output_price_per_million: Decimal = Decimal("0")
    provider_id: str | None = None
    provider_name: str | None = None
    provider_kind: str | None = None
    builtin: bool = True


def _builtin_embedder(name: str, dimensions: int, display_name: str) -> BuiltinModel:
    return BuiltinModel(
        id=name, model=name, kind=ModelKind.EMBEDDING, display_name=display_name, embedding_dimensions=dimensions
    )


NEURAL_EMBEDDER = _builtin_embedder(
    builtin_embedders.NEURAL_NAME,
    builtin_embedders.NEURAL_DIMENSIONS,
    "Built-in neural embedder (multilingual, no provider needed; the default)",
)
LOCAL_EMBEDDER = _builtin_embedder(
    builtin_embedders.LEXICAL_NAME,
    builtin_embedders.LEXICAL_DIMENSIONS,
    "Built-in local embedder (lexical, no provider needed)",
)


class ModelListApi(WorkspaceScopedMixin, generics.GenericAPIView):
    """Every model the workspace can use: the enabled models of its enabled providers, plus the
    built-in embedders (`provider` null) first among the embedding models: the neural one
    (`use-multilingual-v3`, the default of new knowledge bases) and the lexical one (`local-hash-v1`).

    Meant for pickers (a bot's chat model, a knowledge base's embedding model), so the whole list
    comes in one page: `next_cursor` is always null.
    """

    queryset = ProviderModel.objects.all()
    pagination_class = None

    class FilterSerializer(serializers.Serializer):
        kind = ModelKindField(required=False)

    @extend_schema_serializer(component_name="AvailableModel")
    class OutputSerializer(serializers.Serializer):
        id = serializers.CharField(help_text="The provider model's id, or the built-in model's name.")
        provider = serializers.CharField(source="provider_id", allow_null=True)
        provider_name = serializers.CharField(allow_null=True)
        provider_kind = serializers.CharField(allow_null=True)
        model = serializers.CharField()
        kind = ModelKindField()
        display_name = serializers.CharField()
        context_window = serializers.IntegerField(allow_null=True)
        max_output_tokens = serializers.IntegerField(allow_null=True)
        embedding_dimensions = serializers.IntegerField(allow_null=True)
        supports_tools = serializers.BooleanField()
        supports_json_mode = serializers.BooleanField()
        input_price_per_million = serializers.DecimalField(max_digits=12, decimal_places=6)
        output_price_per_million = serializers.DecimalField(max_digits=12, decimal_places=6)
        builtin = serializers.BooleanField()

    def get_queryset(self) -> QuerySet[ProviderModel]:
        if getattr(self, "swagger_fake_view", False):
            return ProviderModel.objects.none()
        return selectors.provider_model_usable_list(workspace_id=self.workspace.pk)

    @extend_schema(
        operation_id="models_list",
        summary="List usable models",
        parameters=[
            OpenApiParameter(
                "kind", enum=ModelKind.values, required=False, description="Only chat or only embedding models."
            )
        ],
        responses={
            200: inline_serializer(
                "AvailableModelList",
                fields={
                    "data": OutputSerializer(many=True),
                    "next_cursor": serializers.CharField(allow_null=True, help_text="Always null: one page."),
                },
            ),
            **_errors(400),
        },
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        kind = filters.validated_data.get("kind")
        entries = selectors.provider_model_usable_list(workspace_id=self.workspace.pk, kind=kind)
        items: list[ProviderModel | BuiltinModel] = list(entries)
        for entry in items:
            entry.builtin = False
        if kind in (None, ModelKind.EMBEDDING):
            items[:0] = [NEURAL_EMBEDDER, LOCAL_EMBEDDER]  # need no provider; the neural one is the default
        return Response({"data": self.OutputSerializer(items, many=True).data, "next_cursor": None})

"""REST API: the caller's workspace and its API keys."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_serializer, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import ApiKey, ApiKeyScope, Role
from accounts.services import api_key_create, api_key_revoke
from accounts.tenancy import WorkspaceScopedMixin, access_for_request


class WorkspaceApi(APIView):
    """The workspace the credentials belong to, and the caller's role and scope in it."""

    chat_scope_allowed = True  # a chat-only app may check which workspace its key belongs to

    class OutputSerializer(serializers.Serializer):
        id = serializers.CharField(source="workspace.id")
        name = serializers.CharField(source="workspace.name")
        role = serializers.CharField()
        scope = serializers.ChoiceField(
            choices=ApiKeyScope.choices,
            help_text=(
                "`full`: acts with `role`; `chat`: can only chat with published bots (the role does not apply)."
            ),
        )
        created_at = serializers.DateTimeField(source="workspace.created_at")

    @extend_schema(responses=OutputSerializer, operation_id="workspace_retrieve")
    def get(self, request):
        return Response(self.OutputSerializer(access_for_request(request)).data)


class ApiKeyOutputSerializer(serializers.ModelSerializer):
    revoked = serializers.SerializerMethodField()

    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "role", "scope", "created_at", "last_used_at", "revoked_at", "revoked"]

    def get_revoked(self, key: ApiKey) -> bool:
        return key.revoked_at is not None


class ApiKeyListCreateApi(WorkspaceScopedMixin, generics.ListCreateAPIView):
    """List the workspace's API keys; create one (its secret is returned once, never again)."""

    queryset = ApiKey.objects.all()
    serializer_class = ApiKeyOutputSerializer
    read_role = Role.ADMIN
    write_role = Role.ADMIN

    @extend_schema_serializer(component_name="ApiKeyCreateInput")
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=100)
        scope = serializers.ChoiceField(
            choices=ApiKeyScope.choices,
            default=ApiKeyScope.FULL,
            help_text=(
                "`full` (default): the key acts with `role`. `chat`: the key can only chat with published bots "
                "(chat, its messages, the OpenAI-compatible API); give no role."
            ),
        )
        role = serializers.ChoiceField(
            choices=[Role.VIEWER, Role.EDITOR, Role.ADMIN],
            required=False,
            help_text="For full-scope keys; default editor.",
        )

    @extend_schema(
        request=InputSerializer,
        responses={
            201: inline_serializer(
                "ApiKeyCreated", fields={"key": ApiKeyOutputSerializer(), "secret": serializers.CharField()}
            )
        },
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = request.user if getattr(request.user, "pk", None) else None
        key, secret = api_key_create(
            workspace=self.workspace, created_by=user, creator_role=self.role, **data.validated_data
        )
        return Response({"key": ApiKeyOutputSerializer(key).data, "secret": secret}, status=status.HTTP_201_CREATED)


class ApiKeyDetailApi(WorkspaceScopedMixin, generics.RetrieveDestroyAPIView):
    """Show a key; DELETE revokes it (requests with it get 401 from then on)."""

    queryset = ApiKey.objects.all()
    serializer_class = ApiKeyOutputSerializer
    read_role = Role.ADMIN
    write_role = Role.ADMIN

    def perform_destroy(self, instance: ApiKey) -> None:
        api_key_revoke(api_key=instance)

    def destroy(self, request, *args, **kwargs):
        key = self.get_object()
        api_key_revoke(api_key=key)
        return Response(ApiKeyOutputSerializer(key).data)

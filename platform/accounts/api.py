"""REST API: the caller's workspace, its API keys, members, invitations and audit log."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_serializer, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.filters import AuditEventFilter
from accounts.models import ApiKey, ApiKeyScope, AuditEvent, Invitation, Membership, Role, User
from accounts.services import (
    api_key_create,
    api_key_revoke,
    invitation_create,
    invitation_revoke,
    invitation_send,
    membership_leave,
    membership_remove,
    membership_role_change,
)
from accounts.tenancy import WorkspaceScopedMixin, access_for_request
from switchboard.api.filters import FilterBackend


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


# -- members, invitations, the audit log ------------------------------------------------------------


# Documented inline rather than as a shared enum component: several components name a field `role`
# with other choices (messages, API keys), and a shared component would need a schema-wide name override.
@extend_schema_field({"allOf": [{"type": "string", "enum": list(Role.values)}]})
class WorkspaceRoleField(serializers.ChoiceField):
    """A member's or an invitation's role: owner, admin, editor or viewer."""

    def __init__(self, **kwargs):
        kwargs.setdefault(
            "error_messages", {"invalid_choice": '"{input}" is not a role: choose owner, admin, editor or viewer.'}
        )
        super().__init__(choices=Role.choices, **kwargs)


def _actor(request) -> User | ApiKey | None:
    """Who acts, for the audit log: the signed-in person, or the API key."""
    if isinstance(request.auth, ApiKey):
        return request.auth
    return request.user if isinstance(request.user, User) else None


class MemberOutputSerializer(serializers.ModelSerializer):
    user_id = serializers.CharField(source="user.id")
    email = serializers.EmailField(source="user.email")
    name = serializers.CharField(source="user.name")
    role = WorkspaceRoleField(read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "user_id", "email", "name", "role", "created_at"]


class MemberListApi(WorkspaceScopedMixin, generics.ListAPIView):
    """The workspace's members and their roles (every member may read it)."""

    queryset = Membership.objects.select_related("user")
    serializer_class = MemberOutputSerializer


class MemberDetailApi(WorkspaceScopedMixin, generics.RetrieveUpdateDestroyAPIView):
    """A member. PATCH changes the role; DELETE removes the member, or, on your own membership, leaves.

    Admins and owners change roles and remove members; only owners make owners or change or remove
    an owner; the last owner can be neither demoted nor removed, nor leave. Any member may leave,
    so writes here are checked by the services rather than by one role for the whole route.
    """

    queryset = Membership.objects.select_related("user", "workspace")
    serializer_class = MemberOutputSerializer
    write_role = Role.VIEWER
    http_method_names = ["get", "patch", "delete"]

    @extend_schema_serializer(component_name="MemberUpdateInput")
    class InputSerializer(serializers.Serializer):
        role = WorkspaceRoleField()

    @extend_schema(request=InputSerializer, responses=MemberOutputSerializer)
    def patch(self, request, pk: str):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = membership_role_change(
            membership=self.get_object(), role=data.validated_data["role"], actor_role=self.role, actor=_actor(request)
        )
        return Response(MemberOutputSerializer(membership).data)

    @extend_schema(responses={204: None})
    def delete(self, request, pk: str):
        membership = self.get_object()
        if membership.user_id == getattr(request.user, "pk", None):
            membership_leave(membership=membership)
        else:
            membership_remove(membership=membership, actor_role=self.role, actor=_actor(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationOutputSerializer(serializers.ModelSerializer):
    status = serializers.ChoiceField(choices=["pending", "accepted", "expired", "revoked"], read_only=True)
    invited_by = serializers.EmailField(source="invited_by.email", default=None, read_only=True)
    role = WorkspaceRoleField(read_only=True)

    class Meta:
        model = Invitation
        fields = [
            "id",
            "email",
            "role",
            "status",
            "invited_by",
            "created_at",
            "expires_at",
            "accepted_at",
            "revoked_at",
        ]


class InvitationListCreateApi(WorkspaceScopedMixin, generics.ListCreateAPIView):
    """Invitations of the workspace (admins); POST invites an email address with a role.

    The accept link is in the response of POST only (its token is stored hashed), and is emailed
    with the configured email backend.
    """

    queryset = Invitation.objects.select_related("invited_by")
    serializer_class = InvitationOutputSerializer
    read_role = Role.ADMIN
    write_role = Role.ADMIN

    @extend_schema_serializer(component_name="InvitationCreateInput")
    class InputSerializer(serializers.Serializer):
        email = serializers.CharField(max_length=254, help_text="The address to invite.")
        role = WorkspaceRoleField(default=Role.EDITOR, help_text="Default editor; only owners invite owners.")

    @extend_schema(
        request=InputSerializer,
        responses={
            201: inline_serializer(
                "InvitationCreated",
                fields={
                    "invitation": InvitationOutputSerializer(),
                    "accept_url": serializers.URLField(help_text="Works once, until the invitation expires."),
                    "email_error": serializers.CharField(
                        allow_null=True, help_text="Why the email could not be sent; null when it was."
                    ),
                },
            )
        },
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = request.user if isinstance(request.user, User) else None
        invitation, token = invitation_create(
            workspace=self.workspace, inviter_role=self.role, invited_by=user, **data.validated_data
        )
        accept_url = request.build_absolute_uri(reverse("accounts:invitation_accept", args=[token]))
        email_error = invitation_send(invitation=invitation, accept_url=accept_url)
        body = {
            "invitation": InvitationOutputSerializer(invitation).data,
            "accept_url": accept_url,
            "email_error": email_error,
        }
        return Response(body, status=status.HTTP_201_CREATED)


class InvitationDetailApi(WorkspaceScopedMixin, generics.RetrieveDestroyAPIView):
    """An invitation; DELETE revokes it (its link stops working)."""

    queryset = Invitation.objects.select_related("invited_by", "workspace")
    serializer_class = InvitationOutputSerializer
    read_role = Role.ADMIN
    write_role = Role.ADMIN

    @extend_schema(responses=InvitationOutputSerializer)
    def delete(self, request, pk: str):
        invitation = invitation_revoke(invitation=self.get_object(), revoker_role=self.role)
        return Response(InvitationOutputSerializer(invitation).data)


class AuditEventOutputSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_label", help_text="An email, an API key, or `system`.")

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "created_at",
            "actor",
            "actor_id",
            "actor_api_key_id",
            "action",
            "target_type",
            "target_id",
            "target_label",
            "details",
        ]


class AuditLogApi(WorkspaceScopedMixin, generics.ListAPIView):
    """Who changed what, newest first (admins). Filter with ?actor= (user id or email), ?action=,
    ?created_after=, ?created_before=."""

    queryset = AuditEvent.objects.all()
    serializer_class = AuditEventOutputSerializer
    read_role = Role.ADMIN
    filter_backends = [FilterBackend]
    filterset_class = AuditEventFilter

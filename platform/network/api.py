"""REST API: the workspace's network allowlist (`/api/v1/egress-allowlist/`).

Every member reads it; only admins and owners change it, since an entry opens private networks to
every outbound request of the workspace.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_serializer, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from accounts.models import Role
from accounts.tenancy import WorkspaceScopedMixin
from network import selectors, services
from network.models import AllowlistEntry
from switchboard.api.schema import error_responses

_errors = error_responses()


def _user(request):
    return request.user if getattr(request.user, "pk", None) and hasattr(request.user, "email") else None


@extend_schema_serializer(component_name="EgressAllowlistEntry")
class AllowlistOutputSerializer(serializers.ModelSerializer):
    warnings = serializers.SerializerMethodField()

    class Meta:
        model = AllowlistEntry
        fields = ["id", "value", "note", "warnings", "created_at"]

    @extend_schema_field(
        inline_serializer(
            "EgressAllowlistWarning",
            many=True,
            fields={
                "code": serializers.CharField(help_text="broad_entry | never_effective_entry"),
                "message": serializers.CharField(),
            },
        )
    )
    def get_warnings(self, entry: AllowlistEntry) -> list[dict[str, str]]:
        return selectors.entry_warnings(entry)


class AllowlistListCreateApi(WorkspaceScopedMixin, generics.ListAPIView):
    """Private hosts and networks the workspace's outbound requests may reach on purpose (intranet).

    One list for action calls, OAuth2 token requests, spec import by URL and document import by URL.
    Without an entry, every private, loopback, link-local or otherwise internal address is refused.
    Cloud metadata addresses (169.254.169.254, …) stay refused whatever is listed, so they cannot be
    added; an entry covering whole special-purpose ranges and more (0.0.0.0/0) needs
    `confirm_broad: true`, and carries a warning for as long as it exists.
    """

    queryset = AllowlistEntry.objects.all()
    serializer_class = AllowlistOutputSerializer
    write_role = Role.ADMIN

    @extend_schema_serializer(component_name="EgressAllowlistEntryInput")
    class InputSerializer(serializers.Serializer):
        value = serializers.CharField(
            max_length=300,
            help_text="A CIDR network (10.20.0.0/16), an IP address, "
            "or a host name with an optional port "
            "(wiki.corp.example:8443).",
        )
        note = serializers.CharField(required=False, allow_blank=True, max_length=300)
        confirm_broad = serializers.BooleanField(
            required=False,
            default=False,
            help_text="Needed for an entry that covers whole special-purpose ranges and more, such as 0.0.0.0/0 "
            "or ::/0: without it such an entry is refused (400, code confirmation_required).",
        )

    @extend_schema(operation_id="egress_allowlist_list", summary="List the network allowlist")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="egress_allowlist_create",
        summary="Allow a private host or network",
        request=InputSerializer,
        responses={201: AllowlistOutputSerializer, **_errors(400, 403, 409)},
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        entry = services.allowlist_entry_create(
            workspace=self.workspace, created_by=_user(request), **data.validated_data
        )
        return Response(AllowlistOutputSerializer(entry).data, status=status.HTTP_201_CREATED)


class AllowlistDetailApi(WorkspaceScopedMixin, generics.RetrieveAPIView):
    queryset = AllowlistEntry.objects.all()
    serializer_class = AllowlistOutputSerializer
    write_role = Role.ADMIN

    @extend_schema(
        operation_id="egress_allowlist_retrieve",
        summary="Show an allowlist entry",
        responses={200: AllowlistOutputSerializer, **_errors(404)},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="egress_allowlist_destroy",
        summary="Remove an allowlist entry",
        responses={204: None, **_errors(403, 404)},
    )
    def delete(self, request, pk: str):
        services.allowlist_entry_delete(entry=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

from django.urls import path

from accounts import api

urlpatterns = [
    path("workspace", api.WorkspaceApi.as_view(), name="workspace"),
    path("api-keys/", api.ApiKeyListCreateApi.as_view(), name="api_key_list"),
    path("api-keys/<str:pk>", api.ApiKeyDetailApi.as_view(), name="api_key_detail"),
    path("members", api.MemberListApi.as_view(), name="member_list"),
    path("members/<str:pk>", api.MemberDetailApi.as_view(), name="member_detail"),
    path("invitations", api.InvitationListCreateApi.as_view(), name="invitation_list"),
    path("invitations/<str:pk>", api.InvitationDetailApi.as_view(), name="invitation_detail"),
    path("audit-log", api.AuditLogApi.as_view(), name="audit_log"),
]

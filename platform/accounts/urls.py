from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("workspace/switch/", views.workspace_switch, name="workspace_switch"),
    path("settings/language/", views.language_view, name="language"),
    path("settings/api-keys/", views.api_keys, name="api_keys"),
    path("settings/api-keys/<str:key_id>/revoke/", views.api_key_revoke_view, name="api_key_revoke"),
    path("settings/members/", views.members, name="members"),
    path("settings/members/invite/", views.member_invite_view, name="member_invite"),
    path("settings/members/leave/", views.member_leave_view, name="member_leave"),
    path("settings/members/<str:member_id>/role/", views.member_role_view, name="member_role"),
    path("settings/members/<str:member_id>/remove/", views.member_remove_view, name="member_remove"),
    path("settings/invitations/<str:invitation_id>/revoke/", views.invitation_revoke_view, name="invitation_revoke"),
    path("settings/audit-log/", views.audit_log, name="audit_log"),
    path("invitations/<str:token>/", views.invitation_accept_view, name="invitation_accept"),
]

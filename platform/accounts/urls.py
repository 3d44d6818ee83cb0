from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("workspace/switch/", views.workspace_switch, name="workspace_switch"),
    path("settings/api-keys/", views.api_keys, name="api_keys"),
    path("settings/api-keys/<str:key_id>/revoke/", views.api_key_revoke_view, name="api_key_revoke"),
]

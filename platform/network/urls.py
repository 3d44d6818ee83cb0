from django.urls import path

from network import views

app_name = "network"

urlpatterns = [
    path("settings/egress-allowlist/", views.allowlist_view, name="allowlist"),
    path("settings/egress-allowlist/<str:entry_id>/delete/", views.allowlist_delete_view, name="allowlist_delete"),
]

from django.urls import path

from network import api

urlpatterns = [
    path("egress-allowlist/", api.AllowlistListCreateApi.as_view(), name="egress_allowlist"),
    path("egress-allowlist/<str:pk>", api.AllowlistDetailApi.as_view(), name="egress_allowlist_entry"),
]

from django.urls import path

from accounts import api

urlpatterns = [
    path("workspace", api.WorkspaceApi.as_view(), name="workspace"),
    path("api-keys/", api.ApiKeyListCreateApi.as_view(), name="api_key_list"),
    path("api-keys/<str:pk>", api.ApiKeyDetailApi.as_view(), name="api_key_detail"),
]

from django.urls import path

from providers import api

urlpatterns = [
    path("providers/", api.ProviderListCreateApi.as_view(), name="provider_list"),
    path("providers/<str:pk>", api.ProviderDetailApi.as_view(), name="provider_detail"),
    path("providers/<str:pk>/test", api.ProviderTestApi.as_view(), name="provider_test"),
    path("providers/<str:provider_id>/models/", api.ProviderModelListCreateApi.as_view(), name="provider_model_list"),
    path(
        "providers/<str:provider_id>/models/<str:model_id>",
        api.ProviderModelDetailApi.as_view(),
        name="provider_model_detail",
    ),
    path("models/", api.ModelListApi.as_view(), name="model_list"),
]

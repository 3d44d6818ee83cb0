from django.urls import path

from providers import views

app_name = "providers"

urlpatterns = [
    path("providers/", views.provider_list, name="provider_list"),
    path("providers/new/", views.provider_create_view, name="provider_create"),
    path("providers/<str:provider_id>/", views.provider_detail, name="provider_detail"),
    path("providers/<str:provider_id>/edit/", views.provider_edit_view, name="provider_edit"),
    path("providers/<str:provider_id>/delete/", views.provider_delete_view, name="provider_delete"),
    path("providers/<str:provider_id>/test/", views.provider_test_view, name="provider_test"),
    path("providers/<str:provider_id>/models/", views.provider_model_add_view, name="provider_model_add"),
    path(
        "providers/<str:provider_id>/models/<str:model_id>/toggle/",
        views.provider_model_toggle_view,
        name="provider_model_toggle",
    ),
    path(
        "providers/<str:provider_id>/models/<str:model_id>/delete/",
        views.provider_model_delete_view,
        name="provider_model_delete",
    ),
]

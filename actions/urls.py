from django.urls import path

from actions import views

app_name = "actions"

urlpatterns = [
    path("actions/", views.action_list, name="action_list"),
    path("actions/import/", views.action_import_view, name="action_import"),
    path("actions/<str:action_id>/", views.action_detail, name="action_detail"),
    path("actions/<str:action_id>/settings/", views.action_settings_view, name="action_settings"),
    path("actions/<str:action_id>/auth/", views.action_auth_view, name="action_auth"),
    path("actions/<str:action_id>/delete/", views.action_delete_view, name="action_delete"),
    path("actions/<str:action_id>/report/", views.action_report_view, name="action_report"),
    path("actions/<str:action_id>/reimport/", views.action_reimport_view, name="action_reimport"),
    path("actions/<str:action_id>/operations/", views.operations_bulk_view, name="operations_bulk"),
    path(
        "actions/<str:action_id>/operations/<str:operation_id>/toggle/",
        views.operation_toggle_view,
        name="operation_toggle",
    ),
    path(
        "actions/<str:action_id>/operations/<str:operation_id>/confirmation/",
        views.operation_consequential_view,
        name="operation_consequential",
    ),
    path(
        "actions/<str:action_id>/operations/<str:operation_id>/test/", views.operation_test_view, name="operation_test"
    ),
]

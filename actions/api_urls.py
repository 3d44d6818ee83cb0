from django.urls import path

from actions import api

urlpatterns = [
    path("actions/", api.ActionListApi.as_view(), name="action_list"),
    path("actions/import", api.ActionImportApi.as_view(), name="action_import"),
    path("actions/<str:pk>", api.ActionDetailApi.as_view(), name="action_detail"),
    path("actions/<str:pk>/reimport", api.ActionReimportApi.as_view(), name="action_reimport"),
    path("actions/<str:pk>/report", api.ActionReportApi.as_view(), name="action_report"),
    path("actions/<str:pk>/spec", api.ActionSpecApi.as_view(), name="action_spec"),
    path("actions/<str:pk>/operations", api.OperationListApi.as_view(), name="action_operation_list"),
    path("actions/<str:pk>/operations/<str:op>", api.OperationDetailApi.as_view(), name="action_operation_detail"),
    path("actions/<str:pk>/operations/<str:op>/test", api.OperationTestApi.as_view(), name="action_operation_test"),
]

from django.urls import path

from knowledge import views

app_name = "knowledge"

urlpatterns = [
    path("knowledge/", views.base_list, name="base_list"),
    path("knowledge/new/", views.base_create_view, name="base_create"),
    path("knowledge/<str:base_id>/", views.base_detail, name="base_detail"),
    path("knowledge/<str:base_id>/edit/", views.base_edit_view, name="base_edit"),
    path("knowledge/<str:base_id>/reembed/", views.base_reembed_view, name="base_reembed"),
    path("knowledge/<str:base_id>/delete/", views.base_delete_view, name="base_delete"),
    path("knowledge/<str:base_id>/documents/", views.base_documents_fragment, name="base_documents"),
    path("knowledge/<str:base_id>/upload/", views.document_upload_view, name="document_upload"),
    path("knowledge/<str:base_id>/import/", views.document_import_view, name="document_import"),
    path("knowledge/<str:base_id>/test/", views.hit_test_view, name="hit_test"),
    path("knowledge/documents/<str:document_id>/", views.document_detail, name="document_detail"),
    path("knowledge/documents/<str:document_id>/toggle/", views.document_toggle_view, name="document_toggle"),
    path("knowledge/documents/<str:document_id>/reindex/", views.document_reindex_view, name="document_reindex"),
    path("knowledge/documents/<str:document_id>/delete/", views.document_delete_view, name="document_delete"),
    path("knowledge/chunks/<str:chunk_id>/edit/", views.chunk_edit_view, name="chunk_edit"),
    path("knowledge/chunks/<str:chunk_id>/toggle/", views.chunk_toggle_view, name="chunk_toggle"),
]

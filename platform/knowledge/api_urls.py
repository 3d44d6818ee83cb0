from django.urls import path

from knowledge import api

urlpatterns = [
    path("knowledge-bases/", api.KnowledgeBaseListCreateApi.as_view(), name="knowledge_base_list"),
    path("knowledge-bases/<str:pk>", api.KnowledgeBaseDetailApi.as_view(), name="knowledge_base_detail"),
    path("knowledge-bases/<str:pk>/reindex", api.KnowledgeBaseReindexApi.as_view(), name="knowledge_base_reindex"),
    path("knowledge-bases/<str:pk>/documents", api.DocumentListCreateApi.as_view(), name="knowledge_base_documents"),
    path("knowledge-bases/<str:pk>/chunks", api.ChunkListApi.as_view(), name="knowledge_base_chunks"),
    path("knowledge-bases/<str:pk>/query", api.HitTestApi.as_view(), name="knowledge_base_query"),
    path("documents/<str:pk>", api.DocumentDetailApi.as_view(), name="document_detail"),
    path("documents/<str:pk>/reindex", api.DocumentReindexApi.as_view(), name="document_reindex"),
    path("chunks/<str:pk>", api.ChunkDetailApi.as_view(), name="chunk_detail"),
]

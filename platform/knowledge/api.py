"""REST API: knowledge bases, their documents and chunks, and hit testing.

Reads need the viewer role (hit testing too, though it is a POST); writes need editor.
"""

from __future__ import annotations

from django.conf import settings
from django.http import Http404
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
    inline_serializer,
)
from rest_framework import generics, serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from accounts.models import Role
from accounts.tenancy import WorkspaceScopedMixin
from knowledge import retrieval, selectors, services
from knowledge.filters import DocumentFilter
from knowledge.models import (
    Chunk,
    Document,
    KnowledgeBase,
    chunk_pk,
    chunk_public_id,
)
from knowledge.parsing import formats
from switchboard.api.errors import ApiError
from switchboard.api.filters import FilterBackend
from switchboard.api.pagination import CursorPagination
from switchboard.api.schema import error_responses
from switchboard.errors import NotFound

_errors = error_responses(
    _409="Conflicts with existing state: a duplicate name or document.",
    _413="The file is larger than SWITCHBOARD_MAX_UPLOAD_MB.",
    _422="The file is empty or cannot be used.",
    _503="The embedding provider is unavailable; try again.",
)


def _user(request):
    return request.user if getattr(request.user, "pk", None) and hasattr(request.user, "email") else None


class ChunkPagination(CursorPagination):
    ordering = "id"


# -- serializers --------------------------------------------------------------------------------------


@extend_schema_serializer(component_name="KnowledgeBase")
class KnowledgeBaseOutputSerializer(serializers.ModelSerializer):
    embedding_model = serializers.SerializerMethodField()
    document_count = serializers.IntegerField(read_only=True, default=0)
    processing_count = serializers.IntegerField(
        read_only=True, default=0, help_text="Documents queued or being indexed."
    )
    failed_count = serializers.IntegerField(read_only=True, default=0)
    rerank_provider = serializers.CharField(source="rerank_provider_id", read_only=True, allow_null=True)
    reindex = serializers.SerializerMethodField()

    class Meta:
        model = KnowledgeBase
        fields = [
            "id",
            "name",
            "description",
            "embedding_model",
            "embedding_model_name",
            "embedding_dimensions",
            "chunk_size",
            "chunk_overlap",
            "vector_weight",
            "text_weight",
            "fusion_k",
            "min_score",
            "rerank_provider",
            "rerank_model",
            "document_count",
            "processing_count",
            "failed_count",
            "reindex",
            "chunk_count",
            "created_at",
            "updated_at",
        ]

    @extend_schema_field(
        {
            "type": "string",
            "example": services.NEURAL_EMBEDDER_ID,
            "description": f"The provider model's id, or a built-in embedder: `{services.NEURAL_EMBEDDER_ID}` "
            f"(neural, multilingual) or `{services.LEXICAL_EMBEDDER_ID}` (lexical).",
        }
    )
    def get_embedding_model(self, base: KnowledgeBase) -> str:
        return base.embedding_model_id or base.embedding_model_name

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "description": "While documents await re-embedding with the base's new model: "
            "{total, done, failed, percent}; null otherwise.",
        }
    )
    def get_reindex(self, base: KnowledgeBase) -> dict | None:
        return selectors.knowledge_base_reindex_progress(knowledge_base=base)


@extend_schema_serializer(component_name="Document")
class DocumentOutputSerializer(serializers.ModelSerializer):
    knowledge_base = serializers.CharField(source="knowledge_base_id", read_only=True)
    error = serializers.SerializerMethodField()
    progress = serializers.SerializerMethodField()
    searchable = serializers.SerializerMethodField()

    class Meta:
        model = Document
        fields = [
            "id",
            "knowledge_base",
            "name",
            "source_type",
            "source_url",
            "file_type",
            "size_bytes",
            "content_hash",
            "status",
            "error",
            "progress",
            "chunk_count",
            "token_count",
            "enabled",
            "searchable",
            "indexed_at",
            "created_at",
            "updated_at",
        ]

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            "description": "Why the last indexing failed (status `failed`); null otherwise.",
        }
    )
    def get_error(self, doc: Document) -> dict | None:
        if not doc.error_code and not doc.error_message:
            return None
        return {"code": doc.error_code, "message": doc.error_message}

    @extend_schema_field(
        {
            "type": "object",
            "properties": {"done": {"type": "integer"}, "total": {"type": "integer"}, "percent": {"type": "integer"}},
            "description": "Chunks embedded so far out of the document's chunks (total is 0 until chunked).",
        }
    )
    def get_progress(self, doc: Document) -> dict:
        return {"done": doc.progress_done, "total": doc.progress_total, "percent": doc.progress_percent}

    @extend_schema_field(
        {
            "type": "boolean",
            "description": "Whether queries can find the document now: it is "
            "enabled and a complete index of it exists (a re-index keeps the previous one "
            "answering until it is done).",
        }
    )
    def get_searchable(self, doc: Document) -> bool:
        return doc.enabled and doc.live_generation is not None


@extend_schema_serializer(component_name="Chunk")
class ChunkOutputSerializer(serializers.ModelSerializer):
    id = serializers.SerializerMethodField()
    document = serializers.CharField(source="document_id", read_only=True)
    document_name = serializers.CharField(source="document.name", read_only=True)
    knowledge_base = serializers.CharField(source="knowledge_base_id", read_only=True)
    heading_path = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Chunk
        fields = [
            "id",
            "document",
            "document_name",
            "knowledge_base",
            "position",
            "heading_path",
            "page",
            "text",
            "token_count",
            "enabled",
            "edited_at",
        ]

    @extend_schema_field({"type": "string", "example": "chk_1234"})
    def get_id(self, chunk: Chunk) -> str:
        return chunk_public_id(chunk.pk)


# -- knowledge bases ----------------------------------------------------------------------------------

_EMBEDDING_HELP = (
    "An embedding model's id from `GET /api/v1/models/?kind=embedding`, or a built-in embedder: "
    f"`{services.NEURAL_EMBEDDER_ID}` (the default: neural, multilingual, finds paraphrases and answers "
    f"across Chinese and English) or `{services.LEXICAL_EMBEDDER_ID}` (lexical: shared words only, fastest). "
    "Once the base has documents, change it with `POST …/knowledge-bases/{id}/reindex`."
)


class RetrievalSettingsSerializer(serializers.Serializer):
    vector_weight = serializers.FloatField(
        required=False, help_text="Weight of the vector (meaning) channel in the fusion, 0–10 (default 1)."
    )
    text_weight = serializers.FloatField(
        required=False, help_text="Weight of the full-text (keyword) channel in the fusion, 0–10 (default 1)."
    )
    fusion_k = serializers.IntegerField(
        required=False, help_text="Reciprocal rank fusion's constant k, 1–1000 (default 60)."
    )
    min_score = serializers.FloatField(
        required=False,
        allow_null=True,
        help_text=f"Minimum fused score (0–1) when a bot or a query sets none; null: "
        f"{retrieval.DEFAULT_SCORE_THRESHOLD}.",
    )
    rerank_provider = serializers.CharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="A provider's id whose /rerank endpoint reorders the best candidates; null: no reranking.",
    )
    rerank_model = serializers.CharField(
        required=False, allow_blank=True, max_length=200, help_text="The rerank model's name at that provider."
    )


def _retrieval_values(values: dict) -> dict:
    """The serializer's names as the services take them (only the fields given)."""
    out = {
        key: values[key]
        for key in ("vector_weight", "text_weight", "fusion_k", "min_score", "rerank_model")
        if key in values
    }
    if "rerank_provider" in values:
        out["rerank_provider_id"] = values["rerank_provider"] or None
    return out


class KnowledgeBaseListCreateApi(WorkspaceScopedMixin, generics.ListAPIView):
    """The workspace's knowledge bases; create one."""

    queryset = KnowledgeBase.objects.all()
    serializer_class = KnowledgeBaseOutputSerializer

    @extend_schema_serializer(component_name="KnowledgeBaseCreateInput")
    class InputSerializer(RetrievalSettingsSerializer):
        name = serializers.CharField(max_length=100)
        description = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
        embedding_model = serializers.CharField(
            max_length=40, required=False, allow_null=True, default=None, help_text=_EMBEDDING_HELP
        )
        chunk_size = serializers.IntegerField(required=False, default=512, help_text="Tokens per chunk, 32–8192.")
        chunk_overlap = serializers.IntegerField(
            required=False, default=64, help_text="Tokens shared by consecutive chunks, up to half the size."
        )

    def get_queryset(self):
        return selectors.knowledge_base_list(workspace_id=self.workspace.pk).order_by("-created_at")

    @extend_schema(operation_id="knowledge_bases_list", summary="List knowledge bases")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="knowledge_bases_create",
        summary="Create a knowledge base",
        request=InputSerializer,
        responses={201: KnowledgeBaseOutputSerializer, **_errors(400, 403, 409)},
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        base = services.knowledge_base_create(
            workspace=self.workspace,
            name=values["name"],
            description=values["description"],
            embedding_model_id=values["embedding_model"],
            chunk_size=values["chunk_size"],
            chunk_overlap=values["chunk_overlap"],
            **_retrieval_values(values),
        )
        base = selectors.knowledge_base_get(workspace_id=self.workspace.pk, knowledge_base_id=base.pk)
        return Response(KnowledgeBaseOutputSerializer(base).data, status=status.HTTP_201_CREATED)


class KnowledgeBaseDetailApi(WorkspaceScopedMixin, generics.RetrieveAPIView):
    """Show, change or delete a knowledge base (deleting it deletes its documents and chunks)."""

    queryset = KnowledgeBase.objects.all()
    serializer_class = KnowledgeBaseOutputSerializer

    @extend_schema_serializer(component_name="KnowledgeBaseUpdateInput")
    class InputSerializer(RetrievalSettingsSerializer):
        name = serializers.CharField(max_length=100, required=False)
        description = serializers.CharField(max_length=2000, required=False, allow_blank=True)
        embedding_model = serializers.CharField(
            max_length=40, required=False, allow_null=True, help_text=_EMBEDDING_HELP
        )
        chunk_size = serializers.IntegerField(
            required=False,
            help_text="Applies to documents indexed from now on; re-index the others to apply it to them.",
        )
        chunk_overlap = serializers.IntegerField(required=False)

    def get_queryset(self):
        return selectors.knowledge_base_list(workspace_id=self.workspace.pk)

    @extend_schema(
        operation_id="knowledge_bases_retrieve",
        summary="Show a knowledge base",
        responses={200: KnowledgeBaseOutputSerializer, **_errors(404)},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="knowledge_bases_update",
        summary="Change a knowledge base",
        request=InputSerializer,
        responses={200: KnowledgeBaseOutputSerializer, **_errors(400, 403, 404, 409)},
    )
    def patch(self, request, pk: str):
        base = self.get_object()
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        changes = {key: values[key] for key in ("name", "description", "chunk_size", "chunk_overlap") if key in values}
        if "embedding_model" in values:
            changes["embedding_model_id"] = values["embedding_model"]
        services.knowledge_base_update(knowledge_base=base, **changes, **_retrieval_values(values))
        base = selectors.knowledge_base_get(workspace_id=self.workspace.pk, knowledge_base_id=base.pk)
        return Response(KnowledgeBaseOutputSerializer(base).data)

    @extend_schema(
        operation_id="knowledge_bases_destroy",
        summary="Delete a knowledge base with its documents",
        responses={204: None, **_errors(403, 404)},
    )
    def delete(self, request, pk: str):
        services.knowledge_base_delete(knowledge_base=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class KnowledgeBaseReindexApi(WorkspaceScopedMixin, generics.GenericAPIView):
    """Re-index every document of the base, with another embedding model when one is given.

    The base switches to the new model at once; each document answers through full-text search
    until its own re-index is done (`GET …/knowledge-bases/{id}` shows `reindex` progress).
    """

    queryset = KnowledgeBase.objects.all()
    serializer_class = KnowledgeBaseOutputSerializer

    @extend_schema_serializer(component_name="KnowledgeBaseReindexInput")
    class InputSerializer(serializers.Serializer):
        embedding_model = serializers.CharField(
            max_length=40, required=False, allow_null=True, default=None, help_text=_EMBEDDING_HELP
        )

    def get_queryset(self):
        return selectors.knowledge_base_list(workspace_id=self.workspace.pk)

    @extend_schema(
        operation_id="knowledge_bases_reindex",
        summary="Re-index every document (optionally with another embedding model)",
        request=InputSerializer,
        responses={202: KnowledgeBaseOutputSerializer, **_errors(400, 403, 404)},
    )
    def post(self, request, pk: str):
        base = self.get_object()
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.knowledge_base_reembed(knowledge_base=base, embedding_model_id=data.validated_data["embedding_model"])
        base = selectors.knowledge_base_get(workspace_id=self.workspace.pk, knowledge_base_id=base.pk)
        return Response(KnowledgeBaseOutputSerializer(base).data, status=status.HTTP_202_ACCEPTED)


class _BaseChildMixin(WorkspaceScopedMixin):
    """Views under /knowledge-bases/{id}/: the base must be in the caller's workspace."""

    def get_knowledge_base(self) -> KnowledgeBase:
        if not hasattr(self, "_knowledge_base"):
            base = selectors.knowledge_base_get(
                workspace_id=self.workspace.pk, knowledge_base_id=self.kwargs["pk"], with_counts=False
            )
            if base is None:
                raise Http404
            self._knowledge_base = base
        return self._knowledge_base


# -- documents ----------------------------------------------------------------------------------------

_UPLOAD_DESCRIPTION = (
    "Add a document to the base, either as `multipart/form-data` with a `file` field (and an optional "
    '`name`), or as JSON `{"url": "https://…"}` to import a web page or file by URL. Supported: '
    f"{formats.SUPPORTED_DESCRIPTION}. The answer comes at once with status `queued`; indexing runs in the "
    "background (`GET /api/v1/documents/{id}` shows status and progress). Refused at once: an unsupported "
    "type (400), a file over the size limit (413), an empty file (422), content already in the base (409). "
    "What can only be found by reading the file — damaged, password-protected, a zip bomb, a URL that "
    "resolves or redirects to a private address — ends the document `failed` with the reason in `error`. "
    "With an `Idempotency-Key` header, a repeat of the request returns the first request's document (200)."
)


@extend_schema_serializer(component_name="DocumentUploadInput")
class DocumentUploadSerializer(serializers.Serializer):
    file = serializers.FileField(
        required=False, allow_empty_file=True, help_text=f"The document; {formats.SUPPORTED_DESCRIPTION}."
    )
    url = serializers.CharField(required=False, max_length=2000, help_text="A web page or file to import.")
    name = serializers.CharField(required=False, max_length=255, help_text="Display name (default: file name).")


class DocumentListCreateApi(_BaseChildMixin, generics.ListAPIView):
    """The base's documents, newest first, with their indexing status and progress; add one."""

    queryset = Document.objects.all()
    serializer_class = DocumentOutputSerializer
    parser_classes = [MultiPartParser, FormParser, JSONParser]
    filter_backends = [FilterBackend]
    filterset_class = DocumentFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Document.objects.none()
        return selectors.document_list(knowledge_base=self.get_knowledge_base())

    @extend_schema(
        operation_id="knowledge_bases_documents_list",
        summary="List a base's documents",
        responses={200: DocumentOutputSerializer(many=True), **_errors(400, 404)},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="knowledge_bases_documents_create",
        summary="Upload a document or import one by URL",
        description=_UPLOAD_DESCRIPTION,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                location=OpenApiParameter.HEADER,
                required=False,
                type=str,
                description="Repeat-safe key; a repeat returns the first result.",
            )
        ],
        request={
            "multipart/form-data": DocumentUploadSerializer,
            "application/json": inline_serializer(
                "DocumentImportInput", fields={"url": serializers.CharField(help_text="A web page or file to import.")}
            ),
        },
        responses={
            201: DocumentOutputSerializer,
            200: DocumentOutputSerializer,
            **_errors(400, 403, 404, 409, 413, 422),
        },
    )
    def post(self, request, pk: str):
        base = self.get_knowledge_base()
        limit = settings.KNOWLEDGE_MAX_UPLOAD_BYTES
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > limit + 1024 * 1024:  # refuse before reading the body (multipart overhead aside)
            raise ApiError(
                f"The upload is {declared / 1048576:,.1f} MB; the limit is {limit // 1048576} MB.",
                code="file_too_large",
                status_code=413,
                param="file",
            )
        data = DocumentUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        key = request.headers.get("Idempotency-Key", "")
        if values.get("file") is not None and values.get("url"):
            raise ApiError("Send either a file or a url, not both.", code="ambiguous_source", param="file")
        if values.get("file") is not None:
            document, created = services.document_create_from_upload(
                knowledge_base=base,
                file=values["file"],
                name=values.get("name"),
                created_by=_user(request),
                idempotency_key=key,
            )
        elif values.get("url"):
            document, created = services.document_create_from_url(
                knowledge_base=base, url=values["url"], created_by=_user(request), idempotency_key=key
            )
        else:
            raise ApiError(
                "Send a file (multipart/form-data field `file`) or a JSON body with `url`.",
                code="required",
                param="file",
            )
        return Response(
            DocumentOutputSerializer(document).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class DocumentDetailApi(WorkspaceScopedMixin, generics.RetrieveAPIView):
    """A document's status and progress; enable or disable it; delete it with its chunks."""

    queryset = Document.objects.all()
    serializer_class = DocumentOutputSerializer

    @extend_schema_serializer(component_name="DocumentUpdateInput")
    class InputSerializer(serializers.Serializer):
        enabled = serializers.BooleanField(help_text="A disabled document stays indexed but answers no query.")

    @extend_schema(
        operation_id="documents_retrieve",
        summary="Show a document",
        responses={200: DocumentOutputSerializer, **_errors(404)},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="documents_update",
        summary="Enable or disable a document",
        request=InputSerializer,
        responses={200: DocumentOutputSerializer, **_errors(400, 403, 404)},
    )
    def patch(self, request, pk: str):
        document = self.get_object()
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        document = services.document_set_enabled(document=document, enabled=data.validated_data["enabled"])
        return Response(DocumentOutputSerializer(document).data)

    @extend_schema(
        operation_id="documents_destroy",
        summary="Delete a document and its chunks",
        responses={204: None, **_errors(403, 404)},
    )
    def delete(self, request, pk: str):
        services.document_delete(document=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class DocumentReindexApi(WorkspaceScopedMixin, generics.GenericAPIView):
    """Index the document again from its source: the stored file, or the URL fetched anew.

    The current index keeps answering until the new one is complete. Edited chunks are made
    again from the source (the edits are lost).
    """

    queryset = Document.objects.all()
    serializer_class = DocumentOutputSerializer
    pagination_class = None

    @extend_schema(
        operation_id="documents_reindex",
        summary="Re-index a document",
        request=None,
        responses={202: DocumentOutputSerializer, **_errors(403, 404, 409)},
    )
    def post(self, request, pk: str):
        document = services.document_reindex(document=self.get_object())
        return Response(DocumentOutputSerializer(document).data, status=status.HTTP_202_ACCEPTED)


# -- chunks -------------------------------------------------------------------------------------------


class ChunkListApi(_BaseChildMixin, generics.ListAPIView):
    """The base's chunks in reading order (documents in the order they were indexed)."""

    queryset = Chunk.objects.all()
    serializer_class = ChunkOutputSerializer
    pagination_class = ChunkPagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Chunk.objects.none()
        return selectors.chunk_list(
            knowledge_base=self.get_knowledge_base(), document_id=self.request.query_params.get("document") or None
        )

    @extend_schema(
        operation_id="knowledge_bases_chunks_list",
        summary="List a base's chunks",
        parameters=[OpenApiParameter("document", str, required=False, description="Only this document's chunks.")],
        responses={200: ChunkOutputSerializer(many=True), **_errors(404)},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class ChunkDetailApi(WorkspaceScopedMixin, generics.GenericAPIView):
    """Show a chunk; edit its text (re-embedded at once) or enable/disable it."""

    queryset = Chunk.objects.all()
    serializer_class = ChunkOutputSerializer
    pagination_class = None

    @extend_schema_serializer(component_name="ChunkUpdateInput")
    class InputSerializer(serializers.Serializer):
        text = serializers.CharField(
            required=False,
            max_length=100_000,
            trim_whitespace=False,
            help_text="New text: re-embedded and re-indexed at once. A re-index of the "
            "document makes its chunks again from the source.",
        )
        enabled = serializers.BooleanField(required=False, help_text="A disabled chunk answers no query.")

    def get_object(self) -> Chunk:
        if chunk_pk(self.kwargs["pk"]) is None:
            raise NotFound("No such chunk.", code="not_found")
        chunk = selectors.chunk_get(workspace_id=self.workspace.pk, chunk_id=self.kwargs["pk"])
        if chunk is None:
            raise Http404
        return chunk

    @extend_schema(
        operation_id="chunks_retrieve", summary="Show a chunk", responses={200: ChunkOutputSerializer, **_errors(404)}
    )
    def get(self, request, pk: str):
        return Response(ChunkOutputSerializer(self.get_object()).data)

    @extend_schema(
        operation_id="chunks_update",
        summary="Edit or enable/disable a chunk",
        request=InputSerializer,
        responses={200: ChunkOutputSerializer, **_errors(400, 403, 404, 422, 503)},
    )
    def patch(self, request, pk: str):
        chunk = self.get_object()
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        chunk = services.chunk_update(chunk=chunk, **data.validated_data)
        return Response(ChunkOutputSerializer(chunk).data)


# -- hit testing ----------------------------------------------------------------------------------------


@extend_schema_serializer(component_name="HitTestInput")
class HitTestInputSerializer(serializers.Serializer):
    query = serializers.CharField(max_length=retrieval.MAX_QUERY_CHARS)
    top_k = serializers.IntegerField(min_value=1, max_value=retrieval.MAX_TOP_K, default=8)
    score_threshold = serializers.FloatField(
        min_value=0,
        max_value=1,
        required=False,
        allow_null=True,
        default=None,
        help_text=f"Minimum fused score a bot would use; omitted or null: the base's minimum score, else "
        f"{retrieval.DEFAULT_SCORE_THRESHOLD}; 0: no minimum. Hits below it are still listed, "
        f"marked `passes_threshold: false`.",
    )


@extend_schema_serializer(component_name="Hit")
class HitSerializer(serializers.Serializer):
    chunk_id = serializers.CharField()
    document_id = serializers.CharField()
    document_name = serializers.CharField()
    knowledge_base_id = serializers.CharField()
    position = serializers.IntegerField()
    heading_path = serializers.ListField(child=serializers.CharField())
    page = serializers.IntegerField(allow_null=True)
    text = serializers.CharField()
    score = serializers.FloatField(
        help_text="Fused score, 0–1: weighted reciprocal rank fusion of both channels, each "
        "vote weighted by that channel's normalised relevance."
    )
    vector_score = serializers.FloatField(allow_null=True, help_text="Cosine similarity to the query.")
    text_score = serializers.FloatField(allow_null=True, help_text="Share of the query's (IDF-weighted) terms found.")
    vector_rank = serializers.IntegerField(allow_null=True)
    text_rank = serializers.IntegerField(allow_null=True)
    passes_threshold = serializers.BooleanField(
        help_text="Whether the fused score reaches the threshold: only such hits are given to a bot's model and cited."
    )
    rerank_score = serializers.FloatField(
        allow_null=True, help_text="The reranker's relevance, 0–1 (null: the base does not rerank)."
    )


class HitTestApi(_BaseChildMixin, generics.GenericAPIView):
    """Hit testing: run a query against the base exactly as a bot would, with each channel's scores."""

    queryset = KnowledgeBase.objects.all()
    serializer_class = HitSerializer
    pagination_class = None
    write_role = Role.VIEWER  # a read, though a POST (the query can be long)

    @extend_schema(
        operation_id="knowledge_bases_query",
        summary="Hit testing",
        request=HitTestInputSerializer,
        responses={
            200: inline_serializer(
                "HitTestResult",
                fields={
                    "data": HitSerializer(many=True),
                    "channels": inline_serializer(
                        "HitTestChannel",
                        many=True,
                        fields={
                            "name": serializers.CharField(),
                            "strategy": serializers.CharField(
                                help_text="exact, hnsw, full-text, or full-text + translated (the text channel also "
                                "searched the question's dictionary translation)"
                            ),
                            "candidates": serializers.IntegerField(),
                            "ms": serializers.FloatField(),
                            "error": serializers.CharField(help_text="Why the step failed (rerank), else empty."),
                        },
                    ),
                    "terms": serializers.ListField(
                        child=serializers.CharField(),
                        help_text="The query's search terms after stemming and CJK bigrams.",
                    ),
                    "translations": serializers.ListField(
                        child=serializers.CharField(),
                        help_text="The words the text channel also searched in the other language, as "
                        "'word → translation, …' (Chinese ↔ English, from CC-CEDICT); empty when none applied.",
                    ),
                    "score_threshold": serializers.FloatField(help_text="The minimum fused score applied."),
                    "passing": serializers.IntegerField(
                        help_text="How many hits pass it (a bot with this threshold and top_k would use exactly these)."
                    ),
                    "reason": serializers.CharField(
                        allow_null=True, help_text="Why nothing was searched (a query of only emoji or punctuation)."
                    ),
                    "reranked": serializers.BooleanField(),
                    "took_ms": serializers.FloatField(),
                },
            ),
            **_errors(400, 404, 503),
        },
    )
    def post(self, request, pk: str):
        base = self.get_knowledge_base()
        data = HitTestInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        result = selectors.knowledge_base_hit_test(
            workspace_id=self.workspace.pk,
            knowledge_base=base,
            query=values["query"],
            top_k=values["top_k"],
            score_threshold=values["score_threshold"],
        )
        return Response(
            {
                "data": [HitSerializer(hit).data for hit in result.hits],
                "channels": [
                    {
                        "name": c.name,
                        "strategy": c.strategy,
                        "candidates": c.candidates,
                        "ms": round(c.ms, 2),
                        "error": c.error,
                    }
                    for c in result.channels
                ],
                "terms": result.terms,
                "translations": result.translations,
                "score_threshold": result.score_threshold,
                "passing": len(result.passing),
                "reason": result.reason,
                "reranked": result.reranked,
                "took_ms": round(result.total_ms, 2),
            }
        )

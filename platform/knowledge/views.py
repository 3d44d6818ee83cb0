"""Server-rendered pages: knowledge bases, their documents (upload, import by URL, status and
progress), chunks, and hit testing.

Every member sees them and may run hit tests; editors and above change them.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from accounts.pages import add_service_error, can_edit, forbidden, page_access
from accounts.tenancy import WorkspaceAccess
from knowledge import selectors, services
from knowledge.forms import (
    ChunkEditForm,
    HitTestForm,
    KnowledgeBaseEditForm,
    KnowledgeBaseForm,
    ReembedForm,
    UploadForm,
    UrlImportForm,
)
from knowledge.models import Chunk, Document, KnowledgeBase
from switchboard.errors import DomainError

_EDITORS_ONLY = gettext_lazy("Only editors, admins and owners change knowledge bases.")


def _base(access: WorkspaceAccess, base_id: str) -> KnowledgeBase:
    base = selectors.knowledge_base_get(workspace_id=access.workspace.pk, knowledge_base_id=base_id)
    if base is None:
        raise Http404("No such knowledge base.")
    return base


def _document(access: WorkspaceAccess, document_id: str) -> Document:
    document = selectors.document_get(workspace_id=access.workspace.pk, document_id=document_id)
    if document is None:
        raise Http404("No such document.")
    return document


# -- bases ---------------------------------------------------------------------------------------------


@login_required
def base_list(request: HttpRequest) -> HttpResponse:
    access = page_access(request)
    return render(
        request,
        "knowledge/base_list.html",
        {"bases": selectors.knowledge_base_list(workspace_id=access.workspace.pk), "can_edit": can_edit(access)},
    )


@login_required
def base_create_view(request: HttpRequest) -> HttpResponse:
    access = page_access(request)
    if not can_edit(access):
        return forbidden(request, _EDITORS_ONLY)
    form = KnowledgeBaseForm(request.POST or None, workspace_id=access.workspace.pk)
    if request.method == "POST" and form.is_valid():
        try:
            base = services.knowledge_base_create(
                workspace=access.workspace,
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                embedding_model_id=form.cleaned_data["embedding_model"],
                chunk_size=form.cleaned_data["chunk_size"],
                chunk_overlap=form.cleaned_data["chunk_overlap"],
                **_retrieval_settings(form),
            )
        except DomainError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("Created %(name)s. Add documents to it.") % {"name": base.name})
            return redirect("knowledge:base_detail", base.pk)
    return render(request, "knowledge/base_form.html", {"form": form, "base": None})


@login_required
def base_edit_view(request: HttpRequest, base_id: str) -> HttpResponse:
    access = page_access(request)
    base = _base(access, base_id)
    if not can_edit(access):
        return forbidden(request, _EDITORS_ONLY)
    has_documents = base.document_count > 0
    form = KnowledgeBaseEditForm(request.POST or None, knowledge_base=base, has_documents=has_documents)
    if request.method == "POST" and form.is_valid():
        changes = {key: form.cleaned_data[key] for key in ("name", "description", "chunk_size", "chunk_overlap")}
        changes.update(_retrieval_settings(form))
        if not has_documents:
            changes["embedding_model_id"] = form.cleaned_data["embedding_model"]
        try:
            services.knowledge_base_update(knowledge_base=base, **changes)
        except DomainError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("Saved %(name)s.") % {"name": form.cleaned_data["name"]})
            return redirect("knowledge:base_detail", base.pk)
    return render(request, "knowledge/base_form.html", {"form": form, "base": base})


def _retrieval_settings(form: KnowledgeBaseForm) -> dict:
    """The retrieval fields given (an empty weight or constant keeps the default or current value)."""
    data = form.cleaned_data
    given = {key: data[key] for key in ("vector_weight", "text_weight", "fusion_k") if data.get(key) is not None}
    return {
        **given,
        "min_score": data["min_score"],
        "rerank_provider_id": data["rerank_provider"] or None,
        "rerank_model": data["rerank_model"],
    }


@require_POST
@login_required
def base_reembed_view(request: HttpRequest, base_id: str) -> HttpResponse:
    """Re-index every document, with the embedding model chosen (the progress shows on the base's page)."""
    access = page_access(request)
    base = _base(access, base_id)
    if not can_edit(access):
        return forbidden(request, _EDITORS_ONLY)
    form = ReembedForm(request.POST, knowledge_base=base)
    if form.is_valid():
        try:
            services.knowledge_base_reembed(
                knowledge_base=base, embedding_model_id=form.cleaned_data["embedding_model"]
            )
        except DomainError as exc:
            add_service_error(form, exc)
        else:
            messages.success(
                request, _("Re-indexing every document of %(name)s; the progress shows below.") % {"name": base.name}
            )
            return redirect("knowledge:base_detail", base.pk)
    return render(request, "knowledge/base_detail.html", _detail_context(access, base, reembed_form=form), status=400)


@require_POST
@login_required
def base_delete_view(request: HttpRequest, base_id: str) -> HttpResponse:
    access = page_access(request)
    base = _base(access, base_id)
    if not can_edit(access):
        return forbidden(request, _EDITORS_ONLY)
    services.knowledge_base_delete(knowledge_base=base)
    messages.success(request, _("Deleted %(name)s with its documents.") % {"name": base.name})
    return redirect("knowledge:base_list")


def _detail_context(access: WorkspaceAccess, base: KnowledgeBase, **forms) -> dict:
    documents = list(selectors.document_list(knowledge_base=base)[:500])
    return {
        "base": base,
        "documents": documents,
        "can_edit": can_edit(access),
        "processing": any(doc.is_processing for doc in documents),
        "reindex": selectors.knowledge_base_reindex_progress(knowledge_base=base),
        "reembed_form": forms.get("reembed_form") or ReembedForm(knowledge_base=base),
        "upload_form": forms.get("upload_form") or UploadForm(),
        "url_form": forms.get("url_form") or UrlImportForm(),
    }


@login_required
def base_detail(request: HttpRequest, base_id: str) -> HttpResponse:
    access = page_access(request)
    base = _base(access, base_id)
    return render(request, "knowledge/base_detail.html", _detail_context(access, base))


@login_required
def base_documents_fragment(request: HttpRequest, base_id: str) -> HttpResponse:
    """The documents table alone: polled by the detail page while documents are being indexed."""
    access = page_access(request)
    base = _base(access, base_id)
    response = render(request, "knowledge/_documents.html", _detail_context(access, base))
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@login_required
def document_upload_view(request: HttpRequest, base_id: str) -> HttpResponse:
    access = page_access(request)
    base = _base(access, base_id)
    if not can_edit(access):
        return forbidden(request, _EDITORS_ONLY)
    files = request.FILES.getlist("files")
    if not files:
        form = UploadForm()
        form.add_error(None, _("Choose at least one file."))
        return render(
            request, "knowledge/base_detail.html", _detail_context(access, base, upload_form=form), status=400
        )
    added, rejected = [], []
    for upload in files:
        try:
            services.document_create_from_upload(knowledge_base=base, file=upload, created_by=request.user)
        except DomainError as exc:
            rejected.append(f"{upload.name}: {exc.message}")
        else:
            added.append(upload.name)
    if added:
        messages.success(
            request,
            ngettext(
                "Added %(count)d file; indexing has started.",
                "Added %(count)d files; indexing has started.",
                len(added),
            )
            % {"count": len(added)},
        )
    for problem in rejected:
        messages.error(request, problem)
    return redirect("knowledge:base_detail", base.pk)


@require_POST
@login_required
def document_import_view(request: HttpRequest, base_id: str) -> HttpResponse:
    access = page_access(request)
    base = _base(access, base_id)
    if not can_edit(access):
        return forbidden(request, _EDITORS_ONLY)
    form = UrlImportForm(request.POST)
    if form.is_valid():
        try:
            services.document_create_from_url(
                knowledge_base=base, url=form.cleaned_data["url"], created_by=request.user
            )
        except DomainError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("Import started."))
            return redirect("knowledge:base_detail", base.pk)
    return render(request, "knowledge/base_detail.html", _detail_context(access, base, url_form=form), status=400)


# -- documents and chunks ---------------------------------------------------------------------------------


@login_required
def document_detail(request: HttpRequest, document_id: str) -> HttpResponse:
    access = page_access(request)
    document = _document(access, document_id)
    chunks = selectors.chunk_list(knowledge_base=document.knowledge_base, document_id=document.pk)
    page = Paginator(chunks, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "knowledge/document_detail.html",
        {"document": document, "base": document.knowledge_base, "page": page, "can_edit": can_edit(access)},
    )


def _document_action(request: HttpRequest, document_id: str, action) -> HttpResponse:
    access = page_access(request)
    document = _document(access, document_id)
    back = request.POST.get("next") == "document"
    target = (
        ("knowledge:document_detail", document.pk) if back else ("knowledge:base_detail", document.knowledge_base_id)
    )
    if not can_edit(access):
        return forbidden(request, _EDITORS_ONLY)
    try:
        message = action(document)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, message)
    if action is _delete:
        return redirect("knowledge:base_detail", document.knowledge_base_id)
    return redirect(*target)


def _toggle(document: Document) -> str:
    services.document_set_enabled(document=document, enabled=not document.enabled)
    return (_("Enabled %(name)s.") if document.enabled else _("Disabled %(name)s.")) % {"name": document.name}


def _reindex(document: Document) -> str:
    services.document_reindex(document=document)
    return _("Re-indexing %(name)s; its current index answers until the new one is ready.") % {"name": document.name}


def _delete(document: Document) -> str:
    services.document_delete(document=document)
    return _("Deleted %(name)s and its chunks.") % {"name": document.name}


@require_POST
@login_required
def document_toggle_view(request: HttpRequest, document_id: str) -> HttpResponse:
    return _document_action(request, document_id, _toggle)


@require_POST
@login_required
def document_reindex_view(request: HttpRequest, document_id: str) -> HttpResponse:
    return _document_action(request, document_id, _reindex)


@require_POST
@login_required
def document_delete_view(request: HttpRequest, document_id: str) -> HttpResponse:
    return _document_action(request, document_id, _delete)


def _chunk(access: WorkspaceAccess, chunk_id: str) -> Chunk:
    chunk = selectors.chunk_get(workspace_id=access.workspace.pk, chunk_id=chunk_id)
    if chunk is None:
        raise Http404("No such chunk.")
    return chunk


@login_required
def chunk_edit_view(request: HttpRequest, chunk_id: str) -> HttpResponse:
    access = page_access(request)
    chunk = _chunk(access, chunk_id)
    if not can_edit(access):
        return forbidden(request, _EDITORS_ONLY)
    form = ChunkEditForm(request.POST or None, initial={"text": chunk.text})
    if request.method == "POST" and form.is_valid():
        try:
            services.chunk_update(chunk=chunk, text=form.cleaned_data["text"])
        except DomainError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("Saved chunk %(number)d; it was re-embedded.") % {"number": chunk.position + 1})
            return redirect("knowledge:document_detail", chunk.document_id)
    return render(
        request,
        "knowledge/chunk_form.html",
        {"form": form, "chunk": chunk, "document": chunk.document, "base": chunk.knowledge_base},
    )


@require_POST
@login_required
def chunk_toggle_view(request: HttpRequest, chunk_id: str) -> HttpResponse:
    access = page_access(request)
    chunk = _chunk(access, chunk_id)
    if not can_edit(access):
        return forbidden(request, _EDITORS_ONLY)
    services.chunk_update(chunk=chunk, enabled=not chunk.enabled)
    messages.success(
        request,
        (_("Disabled chunk %(number)d.") if chunk.enabled else _("Enabled chunk %(number)d."))
        % {"number": chunk.position + 1},
    )
    return redirect("knowledge:document_detail", chunk.document_id)


# -- hit testing ------------------------------------------------------------------------------------------


@login_required
def hit_test_view(request: HttpRequest, base_id: str) -> HttpResponse:
    access = page_access(request)
    base = _base(access, base_id)
    form = HitTestForm(request.GET if "query" in request.GET else None)
    result = None
    if form.is_bound and form.is_valid():
        try:
            result = selectors.knowledge_base_hit_test(
                workspace_id=access.workspace.pk,
                knowledge_base=base,
                query=form.cleaned_data["query"],
                top_k=form.cleaned_data["top_k"],
                score_threshold=form.cleaned_data["score_threshold"],
            )
        except DomainError as exc:
            add_service_error(form, exc)
    return render(request, "knowledge/hit_test.html", {"base": base, "form": form, "result": result})

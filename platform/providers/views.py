"""Server-rendered pages: model providers, their connection test and model catalogue.

Every member sees the providers; only admins and owners change them (a provider holds a paid
API key). The API key is never rendered: pages show its last four characters at most.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.pages import add_service_error, can_admin, forbidden, page_access
from accounts.tenancy import WorkspaceAccess
from providers import selectors, services
from providers.forms import KIND_HELP, ProviderEditForm, ProviderForm, ProviderModelForm
from providers.models import Provider, ProviderModel
from switchboard.errors import DomainError

_ADMINS_ONLY = gettext_lazy("Only workspace admins and owners change model providers.")


def _provider(access: WorkspaceAccess, provider_id: str) -> Provider:
    provider = selectors.provider_get(workspace=access.workspace, id=provider_id)
    if provider is None:
        raise Http404("No such provider.")
    return provider


def _provider_model(provider: Provider, model_id: str) -> ProviderModel:
    entry = selectors.provider_model_get(provider=provider, id=model_id)
    if entry is None:
        raise Http404("No such model.")
    return entry


@login_required
def provider_list(request: HttpRequest) -> HttpResponse:
    access = page_access(request)
    return render(
        request,
        "providers/provider_list.html",
        {
            "providers": selectors.provider_list(workspace=access.workspace),
            "can_manage": can_admin(access),
        },
    )


@login_required
def provider_create_view(request: HttpRequest) -> HttpResponse:
    access = page_access(request)
    if not can_admin(access):
        return forbidden(request, _ADMINS_ONLY)
    form = ProviderForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            provider = services.provider_create(workspace=access.workspace, **form.cleaned_data)
        except DomainError as exc:
            add_service_error(form, exc)
        else:
            messages.success(
                request, _("Added %(name)s. Test the connection, then add its models.") % {"name": provider.name}
            )
            return redirect("providers:provider_detail", provider.pk)
    return render(request, "providers/provider_form.html", {"form": form, "provider": None, "kind_help": KIND_HELP})


@login_required
def provider_edit_view(request: HttpRequest, provider_id: str) -> HttpResponse:
    access = page_access(request)
    provider = _provider(access, provider_id)
    if not can_admin(access):
        return forbidden(request, _ADMINS_ONLY)
    form = ProviderEditForm(request.POST or None, provider=provider)
    if request.method == "POST" and form.is_valid():
        try:
            # A fresh copy: a rejected update must not show half-applied values on the page.
            services.provider_update(provider=_provider(access, provider_id), **form.update_arguments())
        except DomainError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("Saved %(name)s.") % {"name": form.cleaned_data["name"]})
            return redirect("providers:provider_detail", provider.pk)
    return render(request, "providers/provider_form.html", {"form": form, "provider": provider, "kind_help": KIND_HELP})


def _render_detail(
    request: HttpRequest, access: WorkspaceAccess, provider: Provider, model_form: ProviderModelForm | None = None
) -> HttpResponse:
    models = selectors.provider_model_list(provider=provider)
    added = {m.model for m in models}
    form = model_form or ProviderModelForm()
    # The model ids the connection test listed, not added yet: the browser offers them as you type.
    form.fields["model"].widget.attrs["list"] = "listed-models"
    return render(
        request,
        "providers/provider_detail.html",
        {
            "provider": provider,
            "models": models,
            "model_form": form,
            "can_manage": can_admin(access),
            "listed_models": [name for name in provider.listed_models if name not in added],
        },
    )


@login_required
def provider_detail(request: HttpRequest, provider_id: str) -> HttpResponse:
    access = page_access(request)
    return _render_detail(request, access, _provider(access, provider_id))


@require_POST
@login_required
def provider_delete_view(request: HttpRequest, provider_id: str) -> HttpResponse:
    access = page_access(request)
    provider = _provider(access, provider_id)
    if not can_admin(access):
        return forbidden(request, _ADMINS_ONLY)
    try:
        services.provider_delete(provider=provider)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("providers:provider_detail", provider.pk)
    messages.success(request, _("Deleted %(name)s and its models.") % {"name": provider.name})
    return redirect("providers:provider_list")


@require_POST
@login_required
def provider_test_view(request: HttpRequest, provider_id: str) -> HttpResponse:
    access = page_access(request)
    provider = _provider(access, provider_id)
    if not can_admin(access):
        return forbidden(request, _ADMINS_ONLY)
    result = services.provider_test(provider=provider)
    (messages.success if result.ok else messages.error)(
        request, _("%(result)s (%(ms)s ms)") % {"result": result.message, "ms": f"{result.latency_ms:.0f}"}
    )
    return redirect("providers:provider_detail", provider.pk)


@require_POST
@login_required
def provider_model_add_view(request: HttpRequest, provider_id: str) -> HttpResponse:
    access = page_access(request)
    provider = _provider(access, provider_id)
    if not can_admin(access):
        return forbidden(request, _ADMINS_ONLY)
    form = ProviderModelForm(request.POST)
    if form.is_valid():
        try:
            entry = services.provider_model_create(provider=provider, **form.cleaned_data)
        except DomainError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("Added %(model)s.") % {"model": entry.model})
            return redirect("providers:provider_detail", provider.pk)
    return _render_detail(request, access, provider, model_form=form)


@require_POST
@login_required
def provider_model_toggle_view(request: HttpRequest, provider_id: str, model_id: str) -> HttpResponse:
    access = page_access(request)
    provider = _provider(access, provider_id)
    if not can_admin(access):
        return forbidden(request, _ADMINS_ONLY)
    entry = _provider_model(provider, model_id)
    try:
        services.provider_model_update(provider_model=entry, is_enabled=not entry.is_enabled)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, (_("Enabled %(name)s.") if entry.is_enabled else _("Disabled %(name)s.")) % {"name": entry.model}
        )
    return redirect("providers:provider_detail", provider.pk)


@require_POST
@login_required
def provider_model_delete_view(request: HttpRequest, provider_id: str, model_id: str) -> HttpResponse:
    access = page_access(request)
    provider = _provider(access, provider_id)
    if not can_admin(access):
        return forbidden(request, _ADMINS_ONLY)
    entry = _provider_model(provider, model_id)
    try:
        services.provider_model_delete(provider_model=entry)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Removed %(model)s.") % {"model": entry.model})
    return redirect("providers:provider_detail", provider.pk)

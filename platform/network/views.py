"""The network allowlist page: every member sees the entries and their warnings; only admins and
owners add or remove them."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.pages import add_service_error, can_admin, forbidden, page_access
from network import selectors, services
from network.forms import AllowlistForm
from switchboard.errors import DomainError

_ADMINS_ONLY = gettext_lazy("Only workspace admins and owners change the network allowlist.")


def _user(request: HttpRequest):
    return request.user if request.user.is_authenticated else None


@login_required
def allowlist_view(request: HttpRequest) -> HttpResponse:
    access = page_access(request)
    administrable = can_admin(access)
    form = AllowlistForm(request.POST or None)
    if request.method == "POST":
        if not administrable:
            return forbidden(request, _ADMINS_ONLY)
        if form.is_valid():
            try:
                entry = services.allowlist_entry_create(
                    workspace=access.workspace, created_by=_user(request), **form.cleaned_data
                )
            except DomainError as exc:
                add_service_error(form, exc)
            else:
                messages.success(
                    request, _("Requests of this workspace may now reach %(value)s.") % {"value": entry.value}
                )
                return redirect("network:allowlist")
    entries = list(selectors.entry_list(workspace_id=access.workspace.pk))
    for entry in entries:
        entry.warnings = selectors.entry_warnings(entry)
    return render(
        request,
        "network/allowlist.html",
        {
            "entries": entries,
            "form": form,
            "can_admin": administrable,
            "warnings": [w for entry in entries for w in entry.warnings],
        },
    )


@require_POST
@login_required
def allowlist_delete_view(request: HttpRequest, entry_id: str) -> HttpResponse:
    access = page_access(request)
    if not can_admin(access):
        return forbidden(request, _ADMINS_ONLY)
    entry = selectors.entry_get(workspace_id=access.workspace.pk, id=entry_id)
    if entry is None:
        raise Http404("No such entry.")
    services.allowlist_entry_delete(entry=entry)
    messages.success(request, _("Removed %(value)s from the allowlist.") % {"value": entry.value})
    return redirect("network:allowlist")

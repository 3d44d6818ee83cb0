"""Server-rendered pages: sign-in, workspace switch, API keys."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.forms import ApiKeyForm, EmailAuthenticationForm
from accounts.models import Role, role_at_least
from accounts.pages import add_service_error
from accounts.selectors import api_key_get, api_key_list, membership_get
from accounts.services import api_key_create, api_key_revoke
from accounts.tenancy import SESSION_KEY
from switchboard.errors import DomainError


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True


@require_POST
@login_required
def workspace_switch(request: HttpRequest) -> HttpResponse:
    membership = membership_get(user=request.user, workspace_id=request.POST.get("workspace", ""))
    if membership is None:
        raise Http404("No such workspace.")
    request.session[SESSION_KEY] = membership.workspace_id
    return redirect("dashboard")


def _admin_access(request: HttpRequest):
    access = request.workspace_access
    if not access:
        raise Http404("You are not a member of any workspace.")
    if not role_at_least(access.role, Role.ADMIN):
        messages.error(request, "Only workspace admins and owners manage API keys.")
        return None
    return access


@login_required
def api_keys(request: HttpRequest) -> HttpResponse:
    access = _admin_access(request)
    if access is None:
        return redirect("dashboard")
    new_secret = None
    form = ApiKeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            _, new_secret = api_key_create(
                workspace=access.workspace, created_by=request.user, creator_role=access.role, **form.cleaned_data
            )
            form = ApiKeyForm()
        except DomainError as exc:
            add_service_error(form, exc)
    keys = api_key_list(workspace=access.workspace)
    return render(request, "accounts/api_keys.html", {"form": form, "keys": keys, "new_secret": new_secret})


@require_POST
@login_required
def api_key_revoke_view(request: HttpRequest, key_id: str) -> HttpResponse:
    access = _admin_access(request)
    if access is None:
        return redirect("dashboard")
    key = api_key_get(workspace=access.workspace, id=key_id)
    if key is None:
        raise Http404("No such API key.")
    api_key_revoke(api_key=key)
    messages.success(request, f"Revoked {key.name}. Requests with it now get 401.")
    return redirect("accounts:api_keys")

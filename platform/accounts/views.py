"""Server-rendered pages: sign-in, workspace switch, API keys, members and invitations, audit log."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.forms import (
    AcceptInvitationForm,
    ApiKeyForm,
    AuditFilterForm,
    EmailAuthenticationForm,
    InviteForm,
    LanguageForm,
    MemberRoleForm,
    role_choices,
)
from accounts.models import Role, User
from accounts.pages import add_service_error, can_admin, forbidden, page_access
from accounts.selectors import (
    api_key_get,
    api_key_list,
    audit_actor_choices,
    audit_event_list,
    invitation_by_token,
    invitation_get,
    invitation_pending_list,
    member_get,
    membership_get,
    workspace_members,
)
from accounts.services import (
    api_key_create,
    api_key_revoke,
    invitation_accept,
    invitation_check,
    invitation_create,
    invitation_revoke,
    invitation_send,
    membership_leave,
    membership_remove,
    membership_role_change,
    user_language_set,
)
from accounts.tenancy import SESSION_KEY, WorkspaceAccess
from switchboard.errors import DomainError, Forbidden, NotFound

_KEYS_ADMINS_ONLY = gettext_lazy("Only workspace admins and owners manage API keys.")
_MEMBERS_ADMINS_ONLY = gettext_lazy("Only workspace admins and owners manage members.")
_AUDIT_ADMINS_ONLY = gettext_lazy("Only workspace admins and owners see the audit log.")
AUDIT_PAGE_SIZE = 50


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


@login_required
def language_view(request: HttpRequest) -> HttpResponse:
    """The signed-in person's UI language, kept on their account (the header's menu posts here)."""
    form = LanguageForm(request.POST or None, initial={"language": request.user.language})
    if request.method == "POST" and form.is_valid():
        try:
            user_language_set(user=request.user, language=form.cleaned_data["language"])
        except DomainError as exc:
            add_service_error(form, exc)
        else:
            language = request.user.language
            if language:
                translation.activate(language)
            messages.success(request, _("Language saved."))
            after = request.POST.get("next", "")
            safe = url_has_allowed_host_and_scheme(
                after, allowed_hosts={request.get_host()}, require_https=request.is_secure()
            )
            response = redirect(after if safe and after else "accounts:language")
            # The menu's cookie follows, so the sign-in page speaks the same language after signing out.
            if language:
                response.set_cookie(
                    settings.LANGUAGE_COOKIE_NAME,
                    language,
                    max_age=settings.LANGUAGE_COOKIE_AGE,
                    samesite=settings.LANGUAGE_COOKIE_SAMESITE,
                )
            else:
                response.delete_cookie(settings.LANGUAGE_COOKIE_NAME)
            return response
    return render(request, "accounts/language.html", {"form": form})


# -- API keys --------------------------------------------------------------------------------------


@login_required
def api_keys(request: HttpRequest) -> HttpResponse:
    access = page_access(request)
    if not can_admin(access):
        return forbidden(request, _KEYS_ADMINS_ONLY)
    new_secret = None
    form = ApiKeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            _key, new_secret = api_key_create(
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
    access = page_access(request)
    if not can_admin(access):
        return forbidden(request, _KEYS_ADMINS_ONLY)
    key = api_key_get(workspace=access.workspace, id=key_id)
    if key is None:
        raise Http404("No such API key.")
    api_key_revoke(api_key=key)
    messages.success(request, _("Revoked %(name)s. Requests with it now get 401.") % {"name": key.name})
    return redirect("accounts:api_keys")


# -- members and invitations -----------------------------------------------------------------------


def _render_members(
    request: HttpRequest,
    access: WorkspaceAccess,
    *,
    form: InviteForm | None = None,
    invited: dict | None = None,
    status: int = 200,
) -> HttpResponse:
    manager = can_admin(access)
    memberships = list(workspace_members(workspace=access.workspace))
    rows = [
        {
            "membership": membership,
            "is_you": membership.user_id == request.user.pk,
            # Admins manage everyone but owners; owners manage everyone.
            "manageable": manager and (membership.role != Role.OWNER or access.role == Role.OWNER),
        }
        for membership in memberships
    ]
    owners = sum(1 for membership in memberships if membership.role == Role.OWNER)
    context = {
        "rows": rows,
        "can_leave": access.role != Role.OWNER or owners > 1,
        "can_manage": manager,
        "role_choices": role_choices(access.role),
        "form": form or (InviteForm(actor_role=access.role) if manager else None),
        "invitations": invitation_pending_list(workspace=access.workspace) if manager else [],
        "invited": invited,
    }
    return render(request, "accounts/members.html", context, status=status)


@login_required
def members(request: HttpRequest) -> HttpResponse:
    return _render_members(request, page_access(request))


@require_POST
@login_required
def member_invite_view(request: HttpRequest) -> HttpResponse:
    access = page_access(request)
    if not can_admin(access):
        return forbidden(request, _MEMBERS_ADMINS_ONLY)
    form = InviteForm(request.POST, actor_role=access.role)
    if not form.is_valid():
        return _render_members(request, access, form=form, status=400)
    try:
        invitation, token = invitation_create(
            workspace=access.workspace, inviter_role=access.role, invited_by=request.user, **form.cleaned_data
        )
    except Forbidden as exc:
        return forbidden(request, exc.message)
    except DomainError as exc:
        add_service_error(form, exc)
        return _render_members(request, access, form=form, status=400)
    accept_url = request.build_absolute_uri(reverse("accounts:invitation_accept", args=[token]))
    invited = {
        "invitation": invitation,
        "url": accept_url,
        "email_error": invitation_send(invitation=invitation, accept_url=accept_url),
    }
    return _render_members(request, access, invited=invited)


def _member_or_404(access: WorkspaceAccess, member_id: str):
    membership = member_get(workspace=access.workspace, id=member_id)
    if membership is None:
        raise Http404("No such member in this workspace.")
    return membership


def _after_member_change(request: HttpRequest, change) -> HttpResponse:
    """Run a change to a member: its success message, or the refusal (403) or the reason it cannot be done."""
    try:
        done = change()
    except Forbidden as exc:
        return forbidden(request, exc.message)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return redirect("accounts:members")


@require_POST
@login_required
def member_role_view(request: HttpRequest, member_id: str) -> HttpResponse:
    access = page_access(request)
    if not can_admin(access):
        return forbidden(request, _MEMBERS_ADMINS_ONLY)
    membership = _member_or_404(access, member_id)
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        messages.error(
            request,
            _("%(role)s is not a role: choose owner, admin, editor or viewer.")
            % {"role": repr(request.POST.get("role", ""))},
        )
        return redirect("accounts:members")

    def change() -> str:
        changed = membership_role_change(
            membership=membership, role=form.cleaned_data["role"], actor_role=access.role, actor=request.user
        )
        return _("%(email)s is now %(role)s.") % {
            "email": changed.user.email,
            "role": str(changed.get_role_display()).lower(),
        }

    return _after_member_change(request, change)


@require_POST
@login_required
def member_remove_view(request: HttpRequest, member_id: str) -> HttpResponse:
    access = page_access(request)
    if not can_admin(access):
        return forbidden(request, _MEMBERS_ADMINS_ONLY)
    membership = _member_or_404(access, member_id)

    def change() -> str:
        membership_remove(membership=membership, actor_role=access.role, actor=request.user)
        return _("Removed %(email)s from %(workspace)s.") % {
            "email": membership.user.email,
            "workspace": access.workspace.name,
        }

    return _after_member_change(request, change)


@require_POST
@login_required
def member_leave_view(request: HttpRequest) -> HttpResponse:
    access = page_access(request)
    membership = membership_get(user=request.user, workspace_id=access.workspace.pk)
    if membership is None:
        raise Http404("You are not a member of this workspace.")
    try:
        membership_leave(membership=membership)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("accounts:members")
    request.session.pop(SESSION_KEY, None)
    messages.success(request, _("You left %(workspace)s.") % {"workspace": access.workspace.name})
    return redirect("dashboard")


@require_POST
@login_required
def invitation_revoke_view(request: HttpRequest, invitation_id: str) -> HttpResponse:
    access = page_access(request)
    if not can_admin(access):
        return forbidden(request, _MEMBERS_ADMINS_ONLY)
    invitation = invitation_get(workspace=access.workspace, id=invitation_id)
    if invitation is None:
        raise Http404("No such invitation in this workspace.")

    def change() -> str:
        invitation_revoke(invitation=invitation, revoker_role=access.role)
        return _("Revoked the invitation of %(email)s; its link no longer works.") % {"email": invitation.email}

    return _after_member_change(request, change)


def invitation_accept_view(request: HttpRequest, token: str) -> HttpResponse:
    """The link of an invitation: a signed-in person joins; a new person chooses a password first."""
    invitation = invitation_by_token(token=token)
    try:
        invitation = invitation_check(invitation)
    except DomainError as exc:
        status = 404 if isinstance(exc, NotFound) else 410
        return render(request, "accounts/invitation.html", {"problem": exc.message}, status=status)
    user = request.user if request.user.is_authenticated else None
    existing_account = user is None and User.objects.filter(email=invitation.email).exists()
    form = AcceptInvitationForm(request.POST or None) if user is None and not existing_account else None
    problem = None
    if request.method == "POST" and (form is None or form.is_valid()) and not existing_account:
        fields = {"password": form.cleaned_data["password"], "name": form.cleaned_data["name"]} if form else {}
        try:
            membership = invitation_accept(token=token, user=user, **fields)
        except DomainError as exc:
            if form is not None:
                add_service_error(form, exc)
            else:
                problem = exc.message
        else:
            if user is None:
                login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
            request.session[SESSION_KEY] = membership.workspace_id
            messages.success(
                request,
                _("Welcome to %(workspace)s: you are %(role)s here.")
                % {"workspace": membership.workspace.name, "role": str(membership.get_role_display()).lower()},
            )
            return redirect("dashboard")
    if user is not None and user.email != invitation.email:
        problem = _(
            "This invitation is for %(email)s, but you are signed in as %(you)s. Sign out and open the link again."
        ) % {"email": invitation.email, "you": user.email}
    context = {
        "invitation": invitation,
        "form": form,
        "existing_account": existing_account,
        "problem": problem,
        "login_url": f"{reverse('accounts:login')}?{urlencode({'next': request.path})}",
    }
    return render(request, "accounts/invitation.html", context, status=400 if request.method == "POST" else 200)


# -- audit log -------------------------------------------------------------------------------------


@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    access = page_access(request)
    if not can_admin(access):
        return forbidden(request, _AUDIT_ADMINS_ONLY)
    form = AuditFilterForm(request.GET or None, actors=audit_actor_choices(workspace=access.workspace))
    filters = {}
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        filters = {"actor": data["actor"], "action": data["action"], "since": data["since"], "until": data["until"]}
    events = audit_event_list(workspace=access.workspace, **filters)
    page = Paginator(events, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    query = {key: value for key, value in request.GET.items() if key != "page" and value}
    return render(request, "accounts/audit_log.html", {"form": form, "page": page, "query": urlencode(query)})

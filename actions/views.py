"""Server-rendered pages: actions, importing with a preview report, an action's settings, credentials
and operations, and the per-operation test console.

Every member sees actions; editors and above change them and use the test console. Secrets are never
rendered: forms show hints (…1234) at most. (The network allowlist has its page in the network app.)
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.pages import add_service_error, can_edit, forbidden, page_access
from accounts.tenancy import WorkspaceAccess
from actions import importing, invocation, selectors, services
from actions.forms import (
    ActionSettingsForm,
    AuthForm,
    ImportForm,
    OperationTestForm,
    ReimportForm,
    example_arguments,
)
from actions.models import Action, Operation, SourceKind
from actions.spec import MAX_ENABLED_TOOLS
from actions.tools import LARGE_TOOL_SCHEMA_BYTES
from switchboard.errors import DomainError, InvalidInput

_EDITORS_ONLY = gettext_lazy("Only editors, admins and owners change actions.")
_PREVIEW_SECONDS = 30 * 60


def _action(access: WorkspaceAccess, action_id: str) -> Action:
    action = selectors.action_get(workspace_id=access.workspace.pk, action_id=action_id)
    if action is None:
        raise Http404("No such action.")
    return action


def _operation(action: Action, operation_id: str) -> Operation:
    operation = selectors.operation_get(action=action, operation=operation_id)
    if operation is None:
        raise Http404("No such operation.")
    return operation


def _unreachable(warnings: list[dict[str, str]]) -> dict[str, str] | None:
    """The warning saying the action can never be called, if there is one: it outranks "Needs setup"."""
    return next((w for w in warnings if w["code"] == "server_url_never_reachable"), None)


def _user(request: HttpRequest):
    return request.user if request.user.is_authenticated else None


# -- previews: the spec read once, kept briefly so "Import" does not fetch or upload it again ---------


def _preview_store(workspace_id: str, source: importing.SpecSource, text: str | bytes) -> str:
    token = secrets.token_urlsafe(16)
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    cache.set(
        f"actions:preview:{workspace_id}:{token}",
        {"kind": source.kind, "url": source.url, "filename": source.filename, "text": text},
        _PREVIEW_SECONDS,
    )
    return token


def _preview_load(workspace_id: str, token: str) -> importing.SpecSource | None:
    if not token:
        return None
    stored = cache.get(f"actions:preview:{workspace_id}:{token}")
    if not stored:
        return None
    return importing.SpecSource(
        kind=stored["kind"], text=stored["text"], url=stored["url"], filename=stored["filename"]
    )


def _source_from_form(access: WorkspaceAccess, form) -> importing.SpecSource | None:
    data = form.cleaned_data
    if data.get("url"):
        url = data["url"].strip()
        text = importing.spec_fetch(workspace_id=access.workspace.pk, url=url)
        return importing.SpecSource(kind=SourceKind.URL, url=url, text=text)
    if data.get("spec"):
        return importing.SpecSource(kind=SourceKind.TEXT, text=data["spec"])
    upload = data.get("file")
    if upload is not None:
        return importing.spec_upload_source(upload)
    return _preview_load(access.workspace.pk, data.get("preview") or "")


# -- list and import ----------------------------------------------------------------------------------


@login_required
def action_list(request: HttpRequest) -> HttpResponse:
    access = page_access(request)
    actions = list(selectors.action_list(workspace_id=access.workspace.pk))
    for action in actions:
        action.problems = selectors.action_warnings(action)
        action.unreachable = _unreachable(action.problems)
        action.auth_description = selectors.action_auth_summary(action)["description"]
    return render(request, "actions/action_list.html", {"actions": actions, "can_edit": can_edit(access)})


@login_required
def action_import_view(request: HttpRequest) -> HttpResponse:
    access = page_access(request)
    if not can_edit(access):
        return forbidden(request, _EDITORS_ONLY)
    form = ImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        dry_run = request.POST.get("step") == "preview"
        try:
            source = _source_from_form(access, form)
            if source is None:
                raise InvalidInput(
                    _("The preview has expired; give the spec again."), code="preview_expired", param="url"
                )
            outcome = importing.action_import(
                workspace=access.workspace,
                source=source,
                name=form.cleaned_data.get("name") or None,
                server_url=form.cleaned_data.get("server_url") or None,
                dry_run=dry_run,
                created_by=_user(request),
            )
        except DomainError as exc:
            add_service_error(form, exc)
        else:
            if not dry_run:
                counts = outcome.report["counts"]
                messages.success(
                    request,
                    _("Imported %(name)s: %(imported)s operations, %(warned)s with warnings, %(skipped)s skipped.")
                    % {
                        "name": outcome.action.name,
                        "imported": counts["imported"],
                        "warned": counts["imported_with_warnings"],
                        "skipped": counts["skipped"],
                    },
                )
                return redirect("actions:action_detail", outcome.action.pk)
            report = outcome.report
            token = _preview_store(access.workspace.pk, source, source.text or "")
            form = ImportForm(
                initial={
                    "preview": token,
                    "name": form.cleaned_data.get("name") or report["spec"]["title"],
                    "server_url": form.cleaned_data.get("server_url") or report["server_url"],
                }
            )
    return render(request, "actions/action_import.html", {"form": form, "report": report, "action": None})


# -- one action ---------------------------------------------------------------------------------------


def _render_detail(
    request: HttpRequest,
    access: WorkspaceAccess,
    action: Action,
    *,
    settings_form: ActionSettingsForm | None = None,
    auth_form: AuthForm | None = None,
    extra_warnings: list[dict[str, str]] | None = None,
) -> HttpResponse:
    search = request.GET.get("q", "").strip()[:200]
    operations = list(
        selectors.operation_list(action=action, search=search).only(
            "id",
            "action_id",
            "name",
            "method",
            "path",
            "summary",
            "enabled",
            "consequential_default",
            "consequential_override",
            "deprecated",
            "no_credentials",
            "schema_size",
            "warnings",
            "position",
        )
    )
    enabled_count = (
        sum(1 for op in operations if op.enabled)
        if not search
        else selectors.operation_count(action=action, enabled_only=True)
    )
    warnings = [*(extra_warnings or []), *selectors.action_warnings(action)]
    return render(
        request,
        "actions/action_detail.html",
        {
            "action": action,
            "auth": selectors.action_auth_summary(action),
            "operations": operations,
            "search": search,
            "enabled_count": enabled_count,
            "max_tools": MAX_ENABLED_TOOLS,
            "too_many_enabled": enabled_count > MAX_ENABLED_TOOLS,
            "large_schema_bytes": LARGE_TOOL_SCHEMA_BYTES,
            "warnings": warnings,
            "unreachable": _unreachable(warnings),
            "settings_form": settings_form or ActionSettingsForm(action=action),
            "auth_form": auth_form or AuthForm(action=action),
            "can_edit": can_edit(access),
        },
    )


@login_required
def action_detail(request: HttpRequest, action_id: str) -> HttpResponse:
    access = page_access(request)
    return _render_detail(request, access, _action(access, action_id))


@require_POST
@login_required
def action_settings_view(request: HttpRequest, action_id: str) -> HttpResponse:
    access = page_access(request)
    action = _action(access, action_id)
    if not can_edit(access):
        return forbidden(request, _EDITORS_ONLY)
    form = ActionSettingsForm(request.POST, action=action)
    if form.is_valid():
        try:
            warnings = services.action_update(
                action=_action(access, action_id),
                name=form.cleaned_data["name"],
                server_url=form.cleaned_data["server_url"],
                enabled=form.cleaned_data["enabled"],
            )
        except DomainError as exc:
            add_service_error(form, exc)
        else:
            for warning in warnings:
                messages.warning(request, warning["message"])
            messages.success(request, _("Saved."))
            return redirect("actions:action_detail", action.pk)
    return _render_detail(request, access, action, settings_form=form)


@require_POST
@login_required
def action_auth_view(request: HttpRequest, action_id: str) -> HttpResponse:
    access = page_access(request)
    action = _action(access, action_id)
    if not can_edit(access):
        return forbidden(request, _EDITORS_ONLY)
    form = AuthForm(request.POST, action=action)
    if form.is_valid():
        try:
            services.action_update(action=_action(access, action_id), auth_data=form.auth_data())
        except DomainError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("Saved the authentication settings."))
            return redirect("actions:action_detail", action.pk)
    return _render_detail(request, access, action, auth_form=form)


@require_POST
@login_required
def action_delete_view(request: HttpRequest, action_id: str) -> HttpResponse:
    access = page_access(request)
    action = _action(access, action_id)
    if not can_edit(access):
        return forbidden(request, _EDITORS_ONLY)
    services.action_delete(action=action)
    messages.success(request, _("Deleted %(name)s and its operations.") % {"name": action.name})
    return redirect("actions:action_list")


@login_required
def action_report_view(request: HttpRequest, action_id: str) -> HttpResponse:
    access = page_access(request)
    action = selectors.action_get(workspace_id=access.workspace.pk, action_id=action_id, with_report=True)
    if action is None:
        raise Http404("No such action.")
    return render(request, "actions/action_report.html", {"action": action, "report": action.import_report})


@login_required
def action_reimport_view(request: HttpRequest, action_id: str) -> HttpResponse:
    access = page_access(request)
    action = _action(access, action_id)
    if not can_edit(access):
        return forbidden(request, _EDITORS_ONLY)
    form = ReimportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        dry_run = request.POST.get("step") == "preview"
        try:
            source = _source_from_form(access, form)
            outcome = importing.action_reimport(action=action, source=source, dry_run=dry_run)
        except DomainError as exc:
            add_service_error(form, exc)
        else:
            changes = outcome.report["changes"]
            if not dry_run:
                messages.success(
                    request,
                    _(
                        "Updated %(name)s: %(added)s added, %(updated)s updated, %(removed)s removed, "
                        "%(same)s unchanged."
                    )
                    % {
                        "name": action.name,
                        "added": changes["added"],
                        "updated": changes["updated"],
                        "removed": changes["removed"],
                        "same": changes["unchanged"],
                    },
                )
                return redirect("actions:action_detail", action.pk)
            report = outcome.report
            if source is not None:
                form = ReimportForm(initial={"preview": _preview_store(access.workspace.pk, source, source.text or "")})
            elif action.source_kind == SourceKind.URL:
                form = ReimportForm()
    return render(request, "actions/action_reimport.html", {"form": form, "report": report, "action": action})


# -- operations ---------------------------------------------------------------------------------------


@require_POST
@login_required
def operation_toggle_view(request: HttpRequest, action_id: str, operation_id: str) -> HttpResponse:
    access = page_access(request)
    action = _action(access, action_id)
    if not can_edit(access):
        return forbidden(request, _EDITORS_ONLY)
    operation = _operation(action, operation_id)
    services.operation_update(operation=operation, enabled=not operation.enabled)
    messages.success(
        request, (_("Enabled %(name)s.") if operation.enabled else _("Disabled %(name)s.")) % {"name": operation.name}
    )
    return _back_to_detail(request, action)


@require_POST
@login_required
def operation_consequential_view(request: HttpRequest, action_id: str, operation_id: str) -> HttpResponse:
    access = page_access(request)
    action = _action(access, action_id)
    if not can_edit(access):
        return forbidden(request, _EDITORS_ONLY)
    operation = _operation(action, operation_id)
    choice = request.POST.get("confirm", "default")
    override = {"always": True, "never": False}.get(choice)
    services.operation_update(operation=operation, consequential_override=override)
    described = {
        "always": _("%(name)s now always asks for confirmation."),
        "never": _("%(name)s now never asks for confirmation."),
    }.get(choice, _("%(name)s now asks for confirmation as the spec implies."))
    messages.success(request, described % {"name": operation.name})
    return _back_to_detail(request, action)


@require_POST
@login_required
def operations_bulk_view(request: HttpRequest, action_id: str) -> HttpResponse:
    access = page_access(request)
    action = _action(access, action_id)
    if not can_edit(access):
        return forbidden(request, _EDITORS_ONLY)
    enabled = request.POST.get("enabled") == "true"
    count = services.operations_set_enabled(action=action, enabled=enabled)
    messages.success(
        request,
        (_("Enabled %(count)d operations.") if enabled else _("Disabled %(count)d operations.")) % {"count": count},
    )
    return _back_to_detail(request, action)


def _back_to_detail(request: HttpRequest, action: Action) -> HttpResponse:
    response = redirect("actions:action_detail", action.pk)
    search = request.POST.get("q", "").strip()
    if search:
        from urllib.parse import urlencode

        response["Location"] += "?" + urlencode({"q": search})
    return response


@login_required
def operation_test_view(request: HttpRequest, action_id: str, operation_id: str) -> HttpResponse:
    access = page_access(request)
    action = _action(access, action_id)
    operation = _operation(action, operation_id)
    editable = can_edit(access)
    result: dict[str, Any] | None = None
    if request.method == "POST":
        if not editable:
            return forbidden(request, _EDITORS_ONLY)
        form = OperationTestForm(request.POST)
        if form.is_valid():
            result = invocation.invocation_report(
                invocation.invoke_operation(operation, form.cleaned_data["arguments"], detailed=True)
            )
    else:
        example = json.dumps(example_arguments(operation.input_schema), indent=2, ensure_ascii=False)
        form = OperationTestForm(initial={"arguments": example})
    return render(
        request,
        "actions/operation_test.html",
        {
            "action": action,
            "operation": operation,
            "form": form,
            "result": result,
            "can_edit": editable,
            "schema": json.dumps(operation.input_schema, indent=2, ensure_ascii=False),
        },
    )

"""The signed-in home page: the workspace at a glance, the platform's health, and what in the
workspace's network allowlist weakens the protection against requests to internal addresses."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_noop

from network import selectors as network_selectors
from switchboard import health, onboarding


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    checks = {
        gettext_noop("Database"): health.timed_check(health.check_database),
        gettext_noop("Redis"): health.timed_check(health.check_redis),
        gettext_noop("Workers"): health.timed_check(health.check_workers),
    }
    access = getattr(request, "workspace_access", None)
    allowlist_warnings = network_selectors.allowlist_warnings(workspace_id=access.workspace.pk) if access else []
    done = onboarding.progress(access.workspace.pk) if access else {}
    return render(
        request,
        "switchboard/dashboard.html",
        {
            "checks": checks,
            "allowlist_warnings": allowlist_warnings,
            "done": done,
            "all_done": done and all(done.values()),
        },
    )

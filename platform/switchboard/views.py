"""The signed-in home page: the workspace at a glance and the platform's health."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from switchboard import health


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    checks = {
        "Database": health.timed_check(health.check_database),
        "Redis": health.timed_check(health.check_redis),
        "Workers": health.timed_check(health.check_workers),
    }
    return render(request, "switchboard/dashboard.html", {"checks": checks})

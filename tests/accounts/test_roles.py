"""The roles are enforced by the server on every API route, not only hidden in the UI: a viewer's
key is refused every write (before any object is looked up or any body read), an editor's every
admin-only write. The README's role table says the same in words."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient
from rest_framework.views import APIView

from accounts.models import Role
from accounts.permissions import IsWorkspaceMember
from accounts.services import api_key_create

pytestmark = pytest.mark.django_db

WRITES = ("post", "put", "patch", "delete")
# Routes whose writes are open to viewers on purpose.
VIEWER_WRITES = {
    "/api/v1/knowledge-bases/x/query",  # a search sent as POST (the query can be long)
    "/api/v1/members/x",  # leaving is open to every member; the services check everything else
}


def _api_routes(resolver: URLResolver | None = None, prefix: str = "") -> list[tuple[str, type[APIView]]]:
    routes: list[tuple[str, type[APIView]]] = []
    for entry in (resolver or get_resolver()).url_patterns:
        pattern = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            routes += _api_routes(entry, pattern)
        elif isinstance(entry, URLPattern):
            view_class = getattr(entry.callback, "cls", None)
            if view_class is not None and pattern.startswith(("api/v1/", "v1/")):
                path = re.sub(r"<(?:\w+:)?\w+>", "x", re.sub(r"<int:\w+>", "1", pattern))
                routes.append(("/" + path.lstrip("^").rstrip("$"), view_class))
    return routes


def _writes(view_class: type[APIView]) -> list[str]:
    return [m for m in WRITES if m in view_class.http_method_names and hasattr(view_class, m)]


def _client(workspace, role: str) -> APIClient:
    _, secret = api_key_create(workspace=workspace, name=role, role=role)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def test_every_api_route_goes_through_the_workspace_permission():
    routes = _api_routes()
    assert len(routes) > 30
    for path, view_class in routes:
        assert any(issubclass(p, IsWorkspaceMember) for p in view_class.permission_classes), path


def test_a_viewer_key_is_refused_every_write(workspace):
    viewer = _client(workspace, Role.VIEWER)
    checked = 0
    for path, view_class in _api_routes():
        if path in VIEWER_WRITES:
            continue
        for method in _writes(view_class):
            response = getattr(viewer, method)(path, {}, format="json")
            assert response.status_code == 403, (method, path, response.content[:200])
            assert response.json()["error"]["type"] == "permission_error"
            checked += 1
    assert checked > 20


def test_an_editor_key_is_refused_every_admin_write(workspace):
    editor = _client(workspace, Role.EDITOR)
    admin_only = [
        (path, view_class)
        for path, view_class in _api_routes()
        if getattr(view_class, "write_role", Role.EDITOR) == Role.ADMIN and _writes(view_class)
    ]
    paths = {path for path, _ in admin_only}
    assert {"/api/v1/invitations", "/api/v1/api-keys/", "/api/v1/egress-allowlist/", "/api/v1/providers/"} <= paths
    for path, view_class in admin_only:
        for method in _writes(view_class):
            response = getattr(editor, method)(path, {}, format="json")
            assert response.status_code == 403, (method, path)


def test_the_readme_has_one_role_table_naming_every_role():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Team and roles", 1)[1].split("\n## ", 1)[0]
    header = next(line for line in section.splitlines() if line.startswith("| what"))
    assert [cell.strip() for cell in header.strip("|").split("|")][1:] == ["viewer", "editor", "admin", "owner"]

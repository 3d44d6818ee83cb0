"""Errors, pagination, request ids and the OpenAPI schema follow the public API conventions."""

import logging

import pytest

from accounts.models import Role
from accounts.services import api_key_create

pytestmark = pytest.mark.django_db


def test_unknown_api_route_is_a_json_404(api):
    response = api.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "route_not_found"


def test_method_not_allowed_is_json(api):
    response = api.put("/api/v1/workspace", {}, format="json")
    assert response.status_code == 405
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_cursor_pagination_walks_every_row_once(api, workspace):
    for index in range(5):
        api_key_create(workspace=workspace, name=f"key {index}", role=Role.VIEWER)
    seen, cursor = [], None
    while True:
        url = "/api/v1/api-keys/?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = api.get(url).json()
        assert len(page["data"]) <= 2
        seen += [key["id"] for key in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 6  # five plus the fixture's own key


@pytest.mark.parametrize(
    "query, param",
    [("limit=0", "limit"), ("limit=abc", "limit"), ("limit=1000", "limit"), ("cursor=garbage", "cursor")],
)
def test_bad_pagination_parameters_are_400s(api, query, param):
    response = api.get(f"/api/v1/api-keys/?{query}")
    assert response.status_code == 400
    assert response.json()["error"]["param"] == param


def test_request_id_is_generated_echoed_and_logged(api, caplog):
    with caplog.at_level(logging.INFO, logger="switchboard.request"):
        response = api.get("/api/v1/workspace")
    request_id = response["X-Request-ID"]
    assert len(request_id) == 32
    logged = [r.msg for r in caplog.records if r.name == "switchboard.request"]
    assert any(isinstance(m, dict) and m.get("request_id") == request_id and m.get("status") == 200 for m in logged)


def test_incoming_request_id_is_kept_and_junk_is_replaced(api):
    assert api.get("/api/v1/workspace", HTTP_X_REQUEST_ID="trace-abc-12345")["X-Request-ID"] == "trace-abc-12345"
    assert api.get("/api/v1/workspace", HTTP_X_REQUEST_ID="bad id\nwith newline")["X-Request-ID"] != "bad id"


def test_openapi_schema_documents_the_api(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/api-keys/" in schema["paths"]
    assert "/api/v1/workspace" in schema["paths"]


def test_interactive_docs_are_served_without_a_cdn(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert "cdn.jsdelivr.net" not in html and "unpkg.com" not in html


def test_schema_documents_bearer_api_keys(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    assert schema["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"

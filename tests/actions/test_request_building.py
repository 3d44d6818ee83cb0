"""Arguments -> HTTP request, per the OpenAPI serialisation rules (pure, no network)."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

import pytest

from actions.request_building import (
    BodySpec,
    ParameterSpec,
    RequestBuildError,
    RequestPlan,
    accept_for,
    append_query,
    bracket_pairs,
    build_request,
    form_pairs,
    join_url,
    plan_for,
    scalar_text,
)

BASE = "https://api.example.com/v1"


def plan(
    *parameters: ParameterSpec,
    path: str = "/items",
    method: str = "GET",
    body: BodySpec | None = None,
    arguments: dict[str, tuple[str, str]] | None = None,
) -> RequestPlan:
    if arguments is None:
        arguments = {p.name: (p.location, p.name) for p in parameters}
        if body is not None:
            arguments["body"] = ("body", "")
    return RequestPlan(method=method, path=path, parameters=tuple(parameters), body=body, arguments=arguments)


def param(
    name: str, location: str = "query", style: str | None = None, explode: bool | None = None, **extra
) -> ParameterSpec:
    style = style or {"path": "simple", "query": "form", "header": "simple", "cookie": "form"}[location]
    explode = (style == "form") if explode is None else explode
    return ParameterSpec(name=name, location=location, style=style, explode=explode, **extra)


def query_of(url: str) -> str:
    return url.split("?", 1)[1] if "?" in url else ""


# -- scalars and URLs ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value,text",
    [
        (True, "true"),
        (False, "false"),
        (None, ""),
        (3, "3"),
        (2.5, "2.5"),
        ("x y", "x y"),
        ({"a": 1}, '{"a":1}'),
        ([1, "é"], '[1,"é"]'),
    ],
)
def test_scalar_text(value, text) -> None:
    assert scalar_text(value) == text


def test_join_url_handles_slashes_and_a_base_query() -> None:
    assert join_url("https://h/v1", "/x") == "https://h/v1/x"
    assert join_url("https://h/", "/x") == "https://h/x"
    assert join_url("https://h/v1?key=1", "/x", ["a=2"]) == "https://h/v1/x?key=1&a=2"
    assert append_query("https://h/x", [("api_key", "a b&c")]) == "https://h/x?api_key=a%20b%26c"
    assert append_query("https://h/x?a=1", [("k", "v")]) == "https://h/x?a=1&k=v"
    assert append_query("https://h/x", []) == "https://h/x"


# -- path ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "style,explode,value,expected",
    [
        ("simple", False, "a b/c?d#e%", "a%20b%2Fc%3Fd%23e%25"),
        ("simple", False, ["x", "y/z"], "x,y%2Fz"),
        ("simple", False, {"r": 1, "g": 2}, "r,1,g,2"),
        ("simple", True, {"r": 1, "g": 2}, "r=1,g=2"),
        ("label", False, "blue", ".blue"),
        ("label", False, ["a", "b"], ".a,b"),
        ("label", True, ["a", "b"], ".a.b"),
        ("label", True, {"r": 1}, ".r=1"),
        ("matrix", False, "blue", ";color=blue"),
        ("matrix", False, ["a", "b"], ";color=a,b"),
        ("matrix", True, ["a", "b"], ";color=a;color=b"),
        ("matrix", True, {"r": 1, "g": 2}, ";r=1;g=2"),
        ("matrix", False, {"r": 1}, ";color=r,1"),
    ],
)
def test_path_styles(style, explode, value, expected) -> None:
    built = build_request(plan(param("color", "path", style, explode), path="/paint/{color}"), BASE, {"color": value})
    assert built.url == f"{BASE}/paint/{expected}"


def test_path_parameters_are_percent_escaped_so_they_cannot_change_the_path() -> None:
    built = build_request(plan(param("id", "path"), path="/users/{id}/orders"), BASE, {"id": "../admin?x=1"})
    assert built.url == f"{BASE}/users/..%2Fadmin%3Fx%3D1/orders"


@pytest.mark.parametrize("value", ["", ".", ".."])
def test_empty_or_dot_path_segments_are_refused(value) -> None:
    with pytest.raises(RequestBuildError) as caught:
        build_request(plan(param("id", "path"), path="/users/{id}", method="DELETE"), BASE, {"id": value})
    assert caught.value.param == "id"


def test_missing_path_parameter_is_refused() -> None:
    with pytest.raises(RequestBuildError, match="required"):
        build_request(plan(param("id", "path"), path="/users/{id}"), BASE, {})


def test_numbers_and_booleans_in_the_path() -> None:
    built = build_request(plan(param("n", "path"), param("b", "path"), path="/x/{n}/{b}"), BASE, {"n": 42, "b": True})
    assert built.url.endswith("/x/42/true")


# -- query --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "style,explode,value,expected",
    [
        ("form", True, "a b&c=d", "q=a%20b%26c%3Dd"),
        ("form", True, ["x", "y"], "q=x&q=y"),
        ("form", False, ["x", "y"], "q=x,y"),
        ("form", True, {"min": 1, "max": 5}, "min=1&max=5"),
        ("form", False, {"min": 1, "max": 5}, "q=min,1,max,5"),
        ("spaceDelimited", False, ["x", "y"], "q=x%20y"),
        ("pipeDelimited", False, ["x", "y"], "q=x%7Cy"),
        ("spaceDelimited", True, ["x", "y"], "q=x&q=y"),
        ("deepObject", True, {"status": "open", "tag": ["a", "b"]}, "q[status]=open&q[tag][0]=a&q[tag][1]=b"),
        ("deepObject", True, {"a": {"b": {"c": 1}}}, "q[a][b][c]=1"),
    ],
)
def test_query_styles(style, explode, value, expected) -> None:
    built = build_request(plan(param("q", "query", style, explode)), BASE, {"q": value})
    assert query_of(built.url) == expected


def test_null_query_values_are_left_out() -> None:
    built = build_request(plan(param("a"), param("b")), BASE, {"a": None, "b": 1})
    assert query_of(built.url) == "b=1"


def test_allow_reserved_keeps_reserved_characters_but_not_separators() -> None:
    built = build_request(plan(param("path", allow_reserved=True)), BASE, {"path": "/a/b:c,d&e#f"})
    assert query_of(built.url) == "path=/a/b:c,d%26e%23f"


def test_query_parameter_with_json_content() -> None:
    built = build_request(plan(param("filter", content_type="application/json")), BASE, {"filter": {"a": [1]}})
    assert dict(parse_qsl(query_of(built.url))) == {"filter": '{"a":[1]}'}


def test_bracketed_parameter_names_are_kept_readable() -> None:
    built = build_request(
        plan(param("filter[status]"), arguments={"filter_status": ("query", "filter[status]")}),
        BASE,
        {"filter_status": "open"},
    )
    assert query_of(built.url) == "filter[status]=open"


def test_unknown_arguments_are_refused() -> None:
    with pytest.raises(RequestBuildError, match="unknown argument"):
        build_request(plan(param("a")), BASE, {"zzz": 1})


# -- headers and cookies ------------------------------------------------------------------------------


def test_header_parameters() -> None:
    built = build_request(
        plan(param("X-Ids", "header"), param("X-Map", "header", explode=True), param("X-One", "header")),
        BASE,
        {"X-Ids": [1, 2], "X-Map": {"a": 1, "b": 2}, "X-One": " v "},
    )
    assert built.header("X-Ids") == "1,2"
    assert built.header("X-Map") == "a=1,b=2"
    assert built.header("X-One") == "v"
    assert built.header("Accept").startswith("application/json")


@pytest.mark.parametrize("value", ["a\r\nX-Evil: 1", "a\nb", "nul\x00"])
def test_header_injection_is_refused(value) -> None:
    with pytest.raises(RequestBuildError, match="line breaks"):
        build_request(plan(param("X-Note", "header")), BASE, {"X-Note": value})


def test_non_ascii_header_is_refused() -> None:
    with pytest.raises(RequestBuildError, match="ASCII"):
        build_request(plan(param("X-Name", "header")), BASE, {"X-Name": "日本"})


def test_cookie_parameters_share_one_header() -> None:
    built = build_request(
        plan(param("session", "cookie"), param("ids", "cookie", explode=False)), BASE, {"session": "a b", "ids": [1, 2]}
    )
    assert built.header("Cookie") == "session=a%20b; ids=1,2"


# -- bodies -------------------------------------------------------------------------------------------


def test_json_body() -> None:
    built = build_request(
        plan(body=BodySpec("application/json"), method="POST"), BASE, {"body": {"name": "Ünïcode", "n": [1, None]}}
    )
    assert json.loads(built.body) == {"name": "Ünïcode", "n": [1, None]}
    assert built.header("Content-Type") == "application/json"


def test_vendor_json_and_wildcard_media_types() -> None:
    built = build_request(plan(body=BodySpec("application/merge-patch+json"), method="PATCH"), BASE, {"body": {}})
    assert built.header("Content-Type") == "application/merge-patch+json"
    built = build_request(plan(body=BodySpec("*/*"), method="POST"), BASE, {"body": {"a": 1}})
    assert built.header("Content-Type") == "application/json"


def test_stripe_style_form_body() -> None:
    encoding = {
        "expand": {"style": "deepObject", "explode": True},
        "metadata": {"style": "deepObject", "explode": True},
    }
    built = build_request(
        plan(body=BodySpec("application/x-www-form-urlencoded", encoding=encoding), method="POST"),
        BASE,
        {
            "body": {
                "amount": 2000,
                "currency": "usd",
                "metadata": {"order id": "6735"},
                "expand": ["customer", "invoice"],
                "capture": False,
                "items": [{"price": "p_1", "quantity": 2}],
                "skip": None,
            }
        },
    )
    assert built.header("Content-Type") == "application/x-www-form-urlencoded"
    text = built.body.decode()
    assert text == (
        "amount=2000&currency=usd&metadata[order+id]=6735&expand[0]=customer&expand[1]=invoice"
        "&capture=false&items[0][price]=p_1&items[0][quantity]=2"
    )
    assert parse_qsl(text) == [
        ("amount", "2000"),
        ("currency", "usd"),
        ("metadata[order id]", "6735"),
        ("expand[0]", "customer"),
        ("expand[1]", "invoice"),
        ("capture", "false"),
        ("items[0][price]", "p_1"),
        ("items[0][quantity]", "2"),
    ]


def test_form_body_array_styles() -> None:
    assert form_pairs({"tags": ["a", "b"]}, {}) == [("tags", "a"), ("tags", "b")]
    assert form_pairs({"tags": ["a", "b"]}, {"tags": {"style": "form", "explode": False}}) == [("tags", "a,b")]
    assert form_pairs({"tags": ["a", "b"]}, {"tags": {"style": "pipeDelimited", "explode": False}}) == [("tags", "a|b")]
    assert form_pairs({"tags": ["a", "b"]}, {"tags": {"style": "spaceDelimited", "explode": False}}) == [
        ("tags", "a b")
    ]


def test_form_body_object_encodings() -> None:
    assert form_pairs({"address": {"city": "Paris"}}, {}) == [("address[city]", "Paris")]
    assert form_pairs({"address": {"city": "Paris"}}, {"address": {"style": "form", "explode": True}}) == [
        ("city", "Paris")
    ]
    assert form_pairs({"meta": {"a": [1]}}, {"meta": {"contentType": "application/json"}}) == [("meta", '{"a":[1]}')]


def test_bracket_pairs_nest_and_skip_nulls() -> None:
    assert bracket_pairs("a", {"b": [{"c": 1}, None], "d": None}) == [("a[b][0][c]", "1")]


def test_form_body_as_a_raw_string() -> None:
    built = build_request(
        plan(body=BodySpec("application/x-www-form-urlencoded"), method="POST"), BASE, {"body": "a=1&b=2"}
    )
    assert built.body == b"a=1&b=2"


def test_form_body_must_be_an_object() -> None:
    with pytest.raises(RequestBuildError):
        build_request(plan(body=BodySpec("application/x-www-form-urlencoded"), method="POST"), BASE, {"body": [1]})


def test_multipart_body() -> None:
    spec = BodySpec("multipart/form-data", binary_fields=("file",), encoding={"file": {"contentType": "text/csv"}})
    built = build_request(
        plan(body=spec, method="POST"),
        BASE,
        {"body": {"title": 'Q1 "report"', "file": "a,b\n1,2\n", "tags": ["x", "y"], "meta": {"k": 1}}},
        multipart_boundary="BOUNDARY",
    )
    assert built.header("Content-Type") == "multipart/form-data; boundary=BOUNDARY"
    text = built.body.decode()
    assert 'Content-Disposition: form-data; name="title"\r\n\r\nQ1 "report"\r\n' in text
    assert (
        'Content-Disposition: form-data; name="file"; filename="file"\r\nContent-Type: text/csv\r\n\r\na,b\n1,2\n\r\n'
    ) in text
    assert text.count('name="tags"') == 2
    assert 'name="meta"\r\nContent-Type: application/json\r\n\r\n{"k":1}' in text
    assert text.endswith("--BOUNDARY--\r\n")


def test_multipart_field_names_cannot_inject_headers() -> None:
    built = build_request(
        plan(body=BodySpec("multipart/form-data"), method="POST"),
        BASE,
        {"body": {'a"\r\nX-Evil: 1': "v"}},
        multipart_boundary="B",
    )
    assert b"\r\nX-Evil" not in built.body
    assert b'name="a%22%0D%0AX-Evil: 1"' in built.body


def test_text_body() -> None:
    built = build_request(plan(body=BodySpec("text/plain"), method="POST"), BASE, {"body": "hello"})
    assert built.body == b"hello" and built.header("Content-Type") == "text/plain"


def test_required_body_must_be_given() -> None:
    with pytest.raises(RequestBuildError, match="body"):
        build_request(plan(body=BodySpec("application/json", required=True), method="POST"), BASE, {})


def test_optional_body_left_out_sends_no_body() -> None:
    built = build_request(plan(body=BodySpec("application/json"), method="POST"), BASE, {})
    assert built.body is None and built.header("Content-Type") is None


# -- plans from stored operations ---------------------------------------------------------------------


def test_plan_from_stored_operation() -> None:
    made = plan_for(
        method="post",
        path="/pets/{id}",
        parameters=[{"name": "id", "in": "path", "style": "simple", "explode": False, "required": True}],
        request_body={"content_type": "application/json", "required": True},
        arguments={"id": {"in": "path", "name": "id"}, "body": {"in": "body", "name": ""}},
        response_content_types=["text/csv"],
    )
    assert made.method == "POST" and made.accept == "*/*"
    built = build_request(made, BASE, {"id": "7", "body": {"a": 1}})
    assert built.url == f"{BASE}/pets/7" and json.loads(built.body) == {"a": 1}


def test_accept_header_prefers_json_when_the_api_returns_it() -> None:
    assert accept_for(["application/json"]).startswith("application/json")
    assert accept_for([]).startswith("application/json")
    assert accept_for(["image/png"]) == "*/*"

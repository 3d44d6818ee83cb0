from __future__ import annotations

import json

import pytest
import yaml

from actions.spec import DEFAULT_MAX_BYTES, SpecError, detect_version, load_spec_text, loading

MINIMAL_YAML = """\
openapi: 3.0.3
info:
  title: Minimal
  version: "1"
paths: {}
"""


def error_of(text: str | bytes, **kwargs: object) -> SpecError:
    with pytest.raises(SpecError) as excinfo:
        load_spec_text(text, **kwargs)  # type: ignore[arg-type]
    return excinfo.value


def test_loads_yaml_and_json_to_the_same_document() -> None:
    from_yaml = load_spec_text(MINIMAL_YAML)
    from_json = load_spec_text(json.dumps(from_yaml))
    assert (
        from_yaml
        == from_json
        == {
            "openapi": "3.0.3",
            "info": {"title": "Minimal", "version": "1"},
            "paths": {},
        }
    )


def test_accepts_bytes_with_utf8_bom_and_utf16() -> None:
    assert load_spec_text(b"\xef\xbb\xbf" + MINIMAL_YAML.encode())["info"]["title"] == "Minimal"
    utf16 = "\ufeff" + json.dumps({"openapi": "3.1.0", "info": {"title": "Ü", "version": "1"}})
    assert load_spec_text(utf16.encode("utf-16-le"))["info"]["title"] == "Ü"
    assert load_spec_text(utf16.encode("utf-16-be"))["info"]["title"] == "Ü"


def test_yaml_keys_and_dates_become_strings() -> None:
    document = load_spec_text(
        MINIMAL_YAML.replace(
            "paths: {}",
            """\
paths:
  /x:
    get:
      responses:
        200:
          description: ok
        404:
          description: missing
      x-released: 2020-01-31
""",
        )
    )
    operation = document["paths"]["/x"]["get"]
    assert list(operation["responses"]) == ["200", "404"]
    assert operation["x-released"] == "2020-01-31"
    json.dumps(document)  # everything is plain JSON data


def test_uses_the_libyaml_loader_when_available() -> None:
    if yaml.__with_libyaml__:
        assert issubclass(loading._SpecLoader, yaml.CSafeLoader)
    assert issubclass(loading._SpecLoader, (yaml.SafeLoader, getattr(yaml, "CSafeLoader", yaml.SafeLoader)))


def test_yaml_tags_that_would_run_code_are_refused() -> None:
    error = error_of(MINIMAL_YAML + "x-evil: !!python/object/apply:os.system ['true']\n")
    assert error.code == "malformed_yaml"


def test_malformed_json_reports_line_and_column() -> None:
    error = error_of('{\n  "openapi": "3.0.0"\n  "info": {"title": "x"}\n}')
    assert error.code == "malformed_json"
    assert (error.line, error.column) == (3, 3)
    assert "Expecting ',' delimiter at line 3, column 3" in error.message


def test_unterminated_json_is_malformed_json() -> None:
    error = error_of('{"openapi": "3.0.0", "info": {"title": "x"}')
    assert error.code == "malformed_json"
    assert error.line == 1


def test_json_with_a_trailing_comma_is_read_as_yaml() -> None:
    # YAML flow mappings allow it, and the author's intent is unambiguous.
    assert load_spec_text('{"openapi": "3.0.0", "info": {"title": "x",}}')["info"] == {"title": "x"}


def test_malformed_yaml_reports_line_and_column() -> None:
    error = error_of("openapi: 3.0.0\ninfo:\n  title: [unclosed\n  version: 1\n")
    assert error.code == "malformed_yaml"
    assert error.line is not None and error.line >= 3
    assert error.column is not None
    assert f"line {error.line}" in error.message


def test_yaml_flow_mapping_that_is_not_json_still_loads() -> None:
    document = load_spec_text("{openapi: 3.0.0, info: {title: x, version: '1'}, paths: {}}")
    assert document["info"]["title"] == "x"


def test_empty_text_is_refused() -> None:
    assert error_of("  \n\t").code == "empty"
    assert error_of(b"").code == "empty"


@pytest.mark.parametrize(
    "text, kind", [("- a\n- b\n", "a list"), ("42", "a single int value"), ('"just a string"', "a single str value")]
)
def test_a_document_that_is_not_an_object_is_refused(text: str, kind: str) -> None:
    error = error_of(text)
    assert error.code == "not_an_object"
    assert kind in error.message


def test_a_document_without_openapi_or_swagger_is_refused() -> None:
    error = error_of('{"title": "My API", "paths": {}}')
    assert error.code == "not_openapi"
    assert "'openapi'" in error.message


@pytest.mark.parametrize(
    "document",
    [
        {"swagger": "1.2"},
        {"swagger": "3.0"},
        {"openapi": "4.0.0"},
        {"openapi": "3.5.0"},
        {"openapi": "2.0"},
        {"openapi": "latest"},
        {"openapi": None},
    ],
)
def test_unsupported_versions_are_refused(document: dict[str, object]) -> None:
    error = error_of(json.dumps(document))
    assert error.code == "unsupported_version"


@pytest.mark.parametrize(
    "value, family, version, minor",
    [
        ("2.0", "swagger", "2.0", 0),
        ("3.0.0", "openapi", "3.0.0", 0),
        ("3.0.3", "openapi", "3.0.3", 0),
        ("3.1.0", "openapi", "3.1.0", 1),
        ("3.1.1-rc1", "openapi", "3.1.1-rc1", 1),
        ("3.2.0", "openapi", "3.2.0", 2),
        (3.0, "openapi", "3.0", 0),  # unquoted in YAML
        (3.1, "openapi", "3.1", 1),
    ],
)
def test_supported_versions(value: object, family: str, version: str, minor: int) -> None:
    key = "swagger" if family == "swagger" else "openapi"
    detected = detect_version({key: value})
    assert (detected.family, detected.version, detected.minor) == (family, version, minor)
    assert detected.is_swagger2 == (family == "swagger")


def test_a_20_mb_spec_is_refused_before_parsing() -> None:
    text = '{"openapi": "3.0.0", "padding": "' + "x" * (20 * 1024 * 1024) + '"}'
    error = error_of(text)
    assert error.code == "spec_too_large"
    assert "10.0 MB" in error.message and "20.0 MB" in error.message
    assert error_of(text.encode()).code == "spec_too_large"


def test_the_size_limit_counts_utf8_bytes_and_can_be_changed() -> None:
    text = json.dumps({"openapi": "3.0.0", "info": {"title": "é" * 600, "version": "1"}}, ensure_ascii=False)
    assert len(text) < 1024 < len(text.encode())
    assert error_of(text, max_bytes=1024).code == "spec_too_large"
    assert load_spec_text(text, max_bytes=2048)["openapi"] == "3.0.0"
    assert DEFAULT_MAX_BYTES == 10 * 1024 * 1024


def test_invalid_utf8_is_refused() -> None:
    error = error_of(b'{"openapi": "3.0.0",\n "x": "\xff\xfe\xfa"}')
    assert error.code == "bad_encoding"
    assert error.line == 2


def test_yaml_alias_bomb_is_refused() -> None:
    lines = ["openapi: 3.0.0", 'a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 9):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * 10) + "]")
    error = error_of("\n".join(lines) + "\n")
    assert error.code == "spec_too_large"


def test_shared_yaml_anchors_are_fine() -> None:
    document = load_spec_text(MINIMAL_YAML + "x-common: &common {type: string}\nx-other: *common\n")
    assert document["x-other"] == {"type": "string"}


def test_yaml_alias_to_its_own_ancestor_is_refused() -> None:
    error = error_of(MINIMAL_YAML + "x-loop: &loop\n  self: *loop\n")
    assert error.code == "malformed_yaml"


def test_deeply_nested_json_is_refused_cleanly() -> None:
    error = error_of('{"openapi": "3.0.0", "x": ' + "[" * 100_000 + "]" * 100_000 + "}")
    assert error.code in ("malformed_json", "malformed_yaml")


def test_spec_error_has_code_and_message() -> None:
    error = SpecError("not_openapi", "Not an OpenAPI document.")
    assert str(error) == "Not an OpenAPI document."
    assert error.code == "not_openapi" and error.line is None
    assert "not_openapi" in repr(error)

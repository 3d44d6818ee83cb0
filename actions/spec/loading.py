"""Turn the text of a spec (JSON or YAML) into a plain dict, refusing what cannot be an OpenAPI document."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any

import yaml

from .errors import SpecError
from .gcpause import gc_paused

DEFAULT_MAX_BYTES = 10 * 1024 * 1024

# Reject YAML whose anchors/aliases would expand far beyond the text ("billion laughs"):
# PyYAML shares aliased nodes, so loading is cheap, but every later walk would see the
# expanded tree. A real spec expands to about one node per 20-40 bytes of text.
_MAX_EXPANDED_NODES = 5_000_000

_OPENAPI_VERSION = re.compile(r"^3\.(?P<minor>\d+)(?:\.\d+)?(?:-[0-9A-Za-z.-]+)?$")
SUPPORTED_OPENAPI_MINORS = (0, 1, 2)

try:  # The C loader is ~10x faster on multi-megabyte specs; fall back when libyaml is absent.
    _BaseLoader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _BaseLoader = yaml.SafeLoader


class _SpecLoader(_BaseLoader):
    """Safe loader whose output is always JSON-compatible.

    YAML turns unquoted ``200:`` into an int key and ``2020-01-01`` into a date; OpenAPI means
    strings in both cases (status codes, example dates), and the rest of the importer relies
    on the document being plain JSON data.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        if all(type(key) is str for key in mapping):
            return mapping
        return {_key_to_str(key): value for key, value in mapping.items()}


def _key_to_str(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    if isinstance(key, (dt.date, dt.datetime)):
        return key.isoformat()
    return str(key)


def _construct_timestamp_as_str(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> str:
    return str(loader.construct_scalar(node))


_SpecLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp_as_str)


@dataclass(frozen=True)
class SpecVersion:
    """Which specification a document follows: ``swagger`` 2.0 or ``openapi`` 3.x."""

    family: str  # "swagger" or "openapi"
    version: str  # as written in the document, e.g. "2.0", "3.0.3", "3.1.0"

    @property
    def is_swagger2(self) -> bool:
        return self.family == "swagger"

    @property
    def minor(self) -> int:
        """The 3.x minor version (0 for Swagger 2.0 documents, which are converted to 3.0)."""
        if self.is_swagger2:
            return 0
        match = _OPENAPI_VERSION.match(self.version)
        return int(match.group("minor")) if match else 0


def load_spec_text(text: str | bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> dict[str, Any]:
    """Parse JSON or YAML spec text into a dict and check it claims to be OpenAPI/Swagger.

    Raises :class:`SpecError` with one of the codes ``spec_too_large``, ``empty``,
    ``bad_encoding``, ``malformed_json``, ``malformed_yaml``, ``not_an_object``,
    ``not_openapi`` or ``unsupported_version``.
    """
    size = len(text) if isinstance(text, bytes) else len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise SpecError(
            "spec_too_large",
            f"The spec is {_human_size(size)}; the largest spec that can be imported is {_human_size(max_bytes)}.",
        )
    if isinstance(text, bytes):
        text = _decode(text)
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise SpecError("empty", "The spec is empty.")

    with gc_paused():
        document = _parse_text(text)
    if not isinstance(document, dict):
        kind = "a list" if isinstance(document, list) else f"a single {type(document).__name__} value"
        raise SpecError("not_an_object", f"The spec must be a JSON or YAML object (a mapping), but it is {kind}.")
    detect_version(document)
    return document


def detect_version(document: dict[str, Any]) -> SpecVersion:
    """Identify Swagger 2.0 / OpenAPI 3.0-3.2 documents; raise :class:`SpecError` for anything else."""
    if "openapi" in document:
        version = _version_string(document["openapi"])
        match = _OPENAPI_VERSION.match(version)
        if match is None or int(match.group("minor")) not in SUPPORTED_OPENAPI_MINORS:
            raise SpecError(
                "unsupported_version",
                f"OpenAPI version {version!r} is not supported; use OpenAPI 3.0, 3.1 or Swagger 2.0.",
            )
        return SpecVersion("openapi", version)
    if "swagger" in document:
        version = _version_string(document["swagger"])
        if version not in ("2.0", "2"):
            raise SpecError(
                "unsupported_version",
                f"Swagger version {version!r} is not supported; use Swagger 2.0 or OpenAPI 3.x "
                "(older Swagger 1.x documents can be upgraded with the Swagger tools).",
            )
        return SpecVersion("swagger", "2.0")
    raise SpecError(
        "not_openapi",
        "This does not look like an OpenAPI document: it has neither an 'openapi' nor a "
        "'swagger' field at the top level.",
    )


def _version_string(value: Any) -> str:
    # ``openapi: 3.0`` without quotes is a YAML float; accept it as the string it was meant to be.
    if isinstance(value, bool):
        return str(value).lower()
    return str(value).strip()


def _decode(data: bytes) -> str:
    # JSON allows UTF-16/32 with a BOM; editors on Windows still produce them.
    for bom, encoding in (
        (b"\xff\xfe\x00\x00", "utf-32-le"),
        (b"\x00\x00\xfe\xff", "utf-32-be"),
        (b"\xff\xfe", "utf-16-le"),
        (b"\xfe\xff", "utf-16-be"),
    ):
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(encoding)
            except UnicodeDecodeError as exc:
                raise SpecError("bad_encoding", f"The spec is not valid {encoding.upper()} text.") from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise SpecError(
            "bad_encoding",
            f"The spec is not valid UTF-8 text (invalid byte at line {line}).",
            line=line,
        ) from exc


def _parse_text(text: str) -> Any:
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            return json.loads(text)
        except RecursionError as exc:
            raise SpecError("malformed_json", "The spec is nested too deeply to be read.") from exc
        except json.JSONDecodeError as json_error:
            # YAML flow style also starts with "{"; only a document that is neither gets the JSON error.
            try:
                return _load_yaml(text)
            except SpecError:
                raise SpecError(
                    "malformed_json",
                    f"The spec is not valid JSON: {json_error.msg} at line {json_error.lineno}, "
                    f"column {json_error.colno}.",
                    line=json_error.lineno,
                    column=json_error.colno,
                ) from json_error
    return _load_yaml(text)


def _load_yaml(text: str) -> Any:
    try:
        loader = _SpecLoader(text)  # what yaml.load does, with our safe loader named in one place
        try:
            document = loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if mark is not None:
            line, column = mark.line + 1, mark.column + 1
            raise SpecError(
                "malformed_yaml",
                f"The spec is not valid YAML: {problem} at line {line}, column {column}.",
                line=line,
                column=column,
            ) from exc
        raise SpecError("malformed_yaml", f"The spec is not valid YAML: {problem}.") from exc
    except yaml.YAMLError as exc:
        raise SpecError("malformed_yaml", f"The spec is not valid YAML: {exc}.") from exc
    except RecursionError as exc:
        raise SpecError("malformed_yaml", "The spec is nested too deeply to be read.") from exc
    if _expanded_node_count(document) > _MAX_EXPANDED_NODES:
        raise SpecError("spec_too_large", "The spec uses YAML aliases that expand to an unreasonably large document.")
    return document


def _expanded_node_count(root: Any) -> int:
    """Number of nodes the document has once aliases are expanded, in time linear in its size."""
    if not isinstance(root, (dict, list)):
        return 1
    sizes: dict[int, int] = {}
    in_progress: set[int] = set()
    # Iterative post-order walk: deep documents must not hit the recursion limit here.
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if key in sizes:
            continue
        if not children_done and key in in_progress:
            # Only a YAML alias pointing at one of its own ancestors gets here.
            raise SpecError("malformed_yaml", "The spec contains a YAML alias that refers to itself.")
        children = node.values() if isinstance(node, dict) else node
        if children_done:
            in_progress.discard(key)
            total = 1
            for child in children:
                if isinstance(child, (dict, list)):
                    total += sizes.get(id(child), 1)
                else:
                    total += 1
            sizes[key] = min(total, _MAX_EXPANDED_NODES + 1)
            continue
        in_progress.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in children if isinstance(child, (dict, list)))
    return sizes.get(id(root), 1)


def _human_size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size} bytes"

"""Turn a tool call's arguments into the HTTP request the operation describes.

Pure: a :class:`RequestPlan` (what the spec says about the operation) plus validated arguments
in, a :class:`BuiltRequest` (method, URL, headers, body bytes) out. Serialisation follows the
OpenAPI rules: path ``simple``/``label``/``matrix``; query ``form`` (exploded or not),
``spaceDelimited``, ``pipeDelimited``, ``deepObject``; header ``simple``; cookie ``form``;
bodies as JSON, ``application/x-www-form-urlencoded`` (nested objects Stripe-style,
``a[b][0]=c``), ``multipart/form-data`` or plain text.

Anything the arguments make impossible to send safely — an empty or ``..`` path segment (which
would aim a DELETE at the collection or the parent resource), a line break in a header — is a
:class:`RequestBuildError` the model can correct, never a request.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, quote_plus

from actions.spec.operations import media_kind

_PATH_TEMPLATE = re.compile(r"\{([^{}]+)\}")
# RFC 3986 reserved characters a parameter with ``allowReserved: true`` may keep as they are.
# "&" and "#" stay escaped: unescaped they would split the query or end the URL.
_RESERVED_KEPT = ":/?[]@!$'()*+,;="
_HEADER_BAD = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_DELIMITERS = {"form": ",", "spaceDelimited": "%20", "pipeDelimited": "%7C"}
_FORM_BODY_DELIMITERS = {"form": ",", "spaceDelimited": " ", "pipeDelimited": "|"}


class RequestBuildError(Exception):
    """The arguments cannot be turned into a request; ``param`` names the argument."""

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


@dataclass(frozen=True)
class ParameterSpec:
    name: str
    location: str  # path | query | header | cookie
    style: str
    explode: bool
    required: bool = False
    allow_reserved: bool = False
    content_type: str | None = None

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ParameterSpec:
        return cls(
            name=raw["name"],
            location=raw["in"],
            style=raw.get("style") or _default_style(raw["in"]),
            explode=bool(raw.get("explode")),
            required=bool(raw.get("required")),
            allow_reserved=bool(raw.get("allow_reserved")),
            content_type=raw.get("content_type"),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "in": self.location,
            "style": self.style,
            "explode": self.explode,
            "required": self.required,
            "allow_reserved": self.allow_reserved,
            "content_type": self.content_type,
        }


@dataclass(frozen=True)
class BodySpec:
    content_type: str
    required: bool = False
    encoding: dict[str, Any] = field(default_factory=dict)
    binary_fields: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any] | None) -> BodySpec | None:
        if not raw:
            return None
        encoding = raw.get("encoding")
        return cls(
            content_type=raw["content_type"],
            required=bool(raw.get("required")),
            encoding=encoding if isinstance(encoding, dict) else {},
            binary_fields=tuple(raw.get("binary_fields") or ()),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "content_type": self.content_type,
            "required": self.required,
            "encoding": self.encoding,
            "binary_fields": list(self.binary_fields),
        }


@dataclass(frozen=True)
class RequestPlan:
    """Everything needed to build an operation's request from its tool arguments."""

    method: str
    path: str
    parameters: tuple[ParameterSpec, ...]
    body: BodySpec | None
    # tool argument name -> (location, name in the request); location "body" for the body
    arguments: dict[str, tuple[str, str]]
    accept: str = "application/json, */*;q=0.8"


@dataclass
class BuiltRequest:
    method: str
    url: str
    headers: list[tuple[str, str]]
    body: bytes | None = None

    def header(self, name: str) -> str | None:
        lower = name.lower()
        for key, value in self.headers:
            if key.lower() == lower:
                return value
        return None


def build_request(
    plan: RequestPlan, base_url: str, arguments: Mapping[str, Any], *, multipart_boundary: str | None = None
) -> BuiltRequest:
    """The request for ``arguments`` (already validated against the tool's schema)."""
    by_location: dict[tuple[str, str], Any] = {}
    body_value: Any = _MISSING
    for argument, value in arguments.items():
        source = plan.arguments.get(argument)
        if source is None:
            raise RequestBuildError(f"unknown argument '{argument}'", param=argument)
        location, name = source
        if location == "body":
            body_value = value
        else:
            by_location[(location, name)] = (argument, value)

    path = _fill_path(plan, by_location)
    query: list[str] = []
    headers: list[tuple[str, str]] = [("Accept", plan.accept)]
    cookies: list[str] = []
    for parameter in plan.parameters:
        entry = by_location.get((parameter.location, parameter.name))
        if entry is None or parameter.location == "path":
            continue
        argument, value = entry
        if value is None:
            continue
        if parameter.location == "query":
            query.extend(_query_pairs(parameter, value))
        elif parameter.location == "header":
            headers.append((parameter.name, _header_value(parameter, value, argument)))
        elif parameter.location == "cookie":
            cookies.extend(_cookie_pairs(parameter, value))
    if cookies:
        headers.append(("Cookie", "; ".join(cookies)))

    body: bytes | None = None
    if plan.body is not None and body_value is not _MISSING and body_value is not None:
        body, content_type = _body(plan.body, body_value, multipart_boundary)
        headers.append(("Content-Type", content_type))
    elif plan.body is not None and plan.body.required and body_value is _MISSING:
        raise RequestBuildError("the request body is required: pass it as 'body'", param="body")
    return BuiltRequest(method=plan.method, url=join_url(base_url, path, query), headers=headers, body=body)


_MISSING = object()


def join_url(base_url: str, path: str, query: Iterable[str] = ()) -> str:
    """``base_url`` + ``path`` (+ encoded ``k=v`` pairs), keeping any query the base URL carries."""
    base, _, base_query = base_url.partition("?")
    if base.endswith("/") and path.startswith("/"):
        base = base[:-1]
    pairs = [item for item in (base_query, *query) if item]
    return base + path + ("?" + "&".join(pairs) if pairs else "")


def append_query(url: str, pairs: Iterable[tuple[str, str]], *, encode_values: bool = True) -> str:
    """``url`` with more query parameters, encoded like :func:`build_request` encodes them.

    ``encode_values=False`` is for display copies whose values are masks, not data.
    """
    encoded = [f"{_encode(name, safe='[]')}={_encode(value) if encode_values else value}" for name, value in pairs]
    if not encoded:
        return url
    return url + ("&" if "?" in url else "?") + "&".join(encoded)


# -- scalars ------------------------------------------------------------------------------------------


def scalar_text(value: Any) -> str:
    """How a single value is written in a URL, header or form field."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return json.dumps(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _encode(text: str, *, safe: str = "") -> str:
    return quote(text, safe=safe)


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, (dict, list))


# -- path ---------------------------------------------------------------------------------------------


def _default_style(location: str) -> str:
    return {"path": "simple", "query": "form", "header": "simple", "cookie": "form"}.get(location, "form")


def _fill_path(plan: RequestPlan, by_location: dict[tuple[str, str], Any]) -> str:
    specs = {p.name: p for p in plan.parameters if p.location == "path"}

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        entry = by_location.get(("path", name))
        if entry is None or entry[1] is None:
            argument = entry[0] if entry else name
            raise RequestBuildError(f"the path parameter '{name}' is required", param=argument)
        argument, value = entry
        spec = specs.get(name) or ParameterSpec(name=name, location="path", style="simple", explode=False)
        text = _path_value(spec, value)
        bare = text.lstrip(".;")
        if text == "" or (spec.style == "simple" and bare in (".", "..")) or value in (".", ".."):
            raise RequestBuildError(f"the path parameter '{argument}' must not be empty, '.' or '..'", param=argument)
        return text

    return _PATH_TEMPLATE.sub(replace, plan.path)


def _path_value(spec: ParameterSpec, value: Any) -> str:
    enc = _encode
    name = enc(spec.name)
    if spec.content_type:
        return enc(scalar_text(value) if isinstance(value, str) else _json(value))
    style, explode = spec.style, spec.explode
    if style == "label":
        if isinstance(value, list):
            return "." + ("." if explode else ",").join(enc(scalar_text(v)) for v in value)
        if isinstance(value, dict):
            if explode:
                return "." + ".".join(f"{enc(k)}={enc(scalar_text(v))}" for k, v in value.items())
            return "." + ",".join(f"{enc(k)},{enc(scalar_text(v))}" for k, v in value.items())
        return "." + enc(scalar_text(value))
    if style == "matrix":
        if isinstance(value, list):
            if explode:
                return "".join(f";{name}={enc(scalar_text(v))}" for v in value) or f";{name}"
            return f";{name}=" + ",".join(enc(scalar_text(v)) for v in value) if value else f";{name}"
        if isinstance(value, dict):
            if explode:
                return "".join(f";{enc(k)}={enc(scalar_text(v))}" for k, v in value.items())
            return f";{name}=" + ",".join(f"{enc(k)},{enc(scalar_text(v))}" for k, v in value.items())
        text = scalar_text(value)
        return f";{name}={enc(text)}" if text != "" else f";{name}"
    # simple (the default, and what unknown styles fall back to)
    if isinstance(value, list):
        return ",".join(enc(scalar_text(v)) for v in value)
    if isinstance(value, dict):
        if explode:
            return ",".join(f"{enc(k)}={enc(scalar_text(v))}" for k, v in value.items())
        return ",".join(f"{enc(k)},{enc(scalar_text(v))}" for k, v in value.items())
    return enc(scalar_text(value))


# -- query --------------------------------------------------------------------------------------------


def _query_pairs(spec: ParameterSpec, value: Any) -> list[str]:
    safe = _RESERVED_KEPT if spec.allow_reserved else ""

    def enc(text: str) -> str:
        return _encode(text, safe=safe)

    name = _encode(spec.name, safe="[]")
    if spec.content_type:
        return [f"{name}={_encode(value if isinstance(value, str) else _json(value))}"]
    style, explode = spec.style, spec.explode
    if style == "deepObject":
        if _is_scalar(value):
            return [f"{name}={enc(scalar_text(value))}"]
        return [f"{_encode(key, safe='[]')}={enc(text)}" for key, text in bracket_pairs(spec.name, value)]
    if isinstance(value, list):
        if explode:
            return [f"{name}={enc(scalar_text(v))}" for v in value]
        delimiter = _DELIMITERS.get(style, ",")
        return [f"{name}=" + delimiter.join(enc(scalar_text(v)) for v in value)]
    if isinstance(value, dict):
        if explode:
            return [f"{_encode(k, safe='[]')}={enc(scalar_text(v))}" for k, v in value.items() if v is not None]
        delimiter = _DELIMITERS.get(style, ",")
        return [f"{name}=" + delimiter.join(f"{enc(k)}{delimiter}{enc(scalar_text(v))}" for k, v in value.items())]
    return [f"{name}={enc(scalar_text(value))}"]


def bracket_pairs(prefix: str, value: Any) -> list[tuple[str, str]]:
    """Nested values the way Stripe (and Rails, PHP, qs) read them: ``a[b][0][c]=d``."""
    if isinstance(value, dict):
        pairs: list[tuple[str, str]] = []
        for key, item in value.items():
            pairs.extend(bracket_pairs(f"{prefix}[{key}]", item))
        return pairs
    if isinstance(value, list):
        pairs = []
        for index, item in enumerate(value):
            pairs.extend(bracket_pairs(f"{prefix}[{index}]", item))
        return pairs
    if value is None:
        return []
    return [(prefix, scalar_text(value))]


# -- headers and cookies ------------------------------------------------------------------------------


def _header_value(spec: ParameterSpec, value: Any, argument: str) -> str:
    if spec.content_type:
        text = value if isinstance(value, str) else _json(value)
    elif isinstance(value, list):
        text = ",".join(scalar_text(v) for v in value)
    elif isinstance(value, dict):
        joiner = "=" if spec.explode else ","
        text = ",".join(f"{k}{joiner}{scalar_text(v)}" for k, v in value.items())
    else:
        text = scalar_text(value)
    if _HEADER_BAD.search(text):
        raise RequestBuildError(
            f"the header parameter '{argument}' must not contain line breaks or control characters", param=argument
        )
    if not text.isascii():
        raise RequestBuildError(f"the header parameter '{argument}' must be ASCII text", param=argument)
    return text.strip()


def _cookie_pairs(spec: ParameterSpec, value: Any) -> list[str]:
    name = _encode(spec.name)
    if isinstance(value, list):
        if spec.explode:
            return [f"{name}={_encode(scalar_text(v))}" for v in value]
        return [f"{name}=" + ",".join(_encode(scalar_text(v)) for v in value)]
    if isinstance(value, dict):
        if spec.explode:
            return [f"{_encode(k)}={_encode(scalar_text(v))}" for k, v in value.items()]
        return [f"{name}=" + ",".join(f"{_encode(k)},{_encode(scalar_text(v))}" for k, v in value.items())]
    return [f"{name}={_encode(scalar_text(value))}"]


# -- bodies -------------------------------------------------------------------------------------------


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _body(spec: BodySpec, value: Any, boundary: str | None) -> tuple[bytes, str]:
    kind = media_kind(spec.content_type)
    if kind in ("json", "json-like"):
        content_type = spec.content_type
        if content_type.split(";", 1)[0].strip() in ("*/*", "application/*"):
            content_type = "application/json"
        return _json(value).encode("utf-8"), content_type
    if kind == "form":
        if isinstance(value, str):
            return value.encode("utf-8"), spec.content_type
        if not isinstance(value, dict):
            raise RequestBuildError("the form body must be an object of fields", param="body")
        pairs = form_pairs(value, spec.encoding)
        encoded = "&".join(f"{quote_plus(k, safe='[]')}={quote_plus(v)}" for k, v in pairs)
        return encoded.encode("ascii"), "application/x-www-form-urlencoded"
    if kind == "multipart":
        if not isinstance(value, dict):
            raise RequestBuildError("the multipart body must be an object of fields", param="body")
        boundary = boundary or f"switchboard-{secrets.token_hex(12)}"
        return multipart_body(value, spec, boundary), f"multipart/form-data; boundary={boundary}"
    # text, binary and anything else: the model supplies the content as one value
    text = value if isinstance(value, str) else _json(value)
    return text.encode("utf-8"), spec.content_type


def form_pairs(value: Mapping[str, Any], encoding: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Fields of an ``application/x-www-form-urlencoded`` body, before percent-encoding."""
    pairs: list[tuple[str, str]] = []
    for name, item in value.items():
        if item is None:
            continue
        rule = encoding.get(name) if isinstance(encoding.get(name), dict) else {}
        style = rule.get("style") or "form"
        explode = rule["explode"] if isinstance(rule.get("explode"), bool) else style == "form"
        content_type = rule.get("contentType") or ""
        if "json" in content_type and not isinstance(item, str):
            pairs.append((name, _json(item)))
        elif _is_scalar(item):
            pairs.append((name, scalar_text(item)))
        elif style == "deepObject" or not all(_is_scalar(v) for v in _children(item)):
            pairs.extend(bracket_pairs(name, item))
        elif isinstance(item, list):
            if explode:
                pairs.extend((name, scalar_text(v)) for v in item if v is not None)
            else:
                delimiter = _FORM_BODY_DELIMITERS.get(style, ",")
                pairs.append((name, delimiter.join(scalar_text(v) for v in item)))
        elif rule.get("style") == "form" and explode:
            # An object whose encoding explicitly says form+explode: its properties become fields.
            pairs.extend((str(k), scalar_text(v)) for k, v in item.items() if v is not None)
        else:
            pairs.extend(bracket_pairs(name, item))
    return pairs


def _children(value: Any) -> Iterable[Any]:
    return value.values() if isinstance(value, dict) else value


def multipart_body(value: Mapping[str, Any], spec: BodySpec, boundary: str) -> bytes:
    parts: list[bytes] = []
    for name, item in value.items():
        if item is None:
            continue
        rule = spec.encoding.get(name) if isinstance(spec.encoding.get(name), dict) else {}
        declared = rule.get("contentType") if isinstance(rule.get("contentType"), str) else None
        if name in spec.binary_fields:
            files = item if isinstance(item, list) else [item]
            for index, content in enumerate(files):
                filename = name if len(files) == 1 else f"{name}-{index + 1}"
                data = content if isinstance(content, str) else _json(content)
                parts.append(
                    _part(name, data.encode("utf-8"), declared or "application/octet-stream", filename=filename)
                )
        elif isinstance(item, list) and all(_is_scalar(v) for v in item):
            parts.extend(_part(name, scalar_text(v).encode("utf-8"), declared) for v in item)
        elif isinstance(item, (dict, list)):
            parts.append(_part(name, _json(item).encode("utf-8"), declared or "application/json"))
        else:
            parts.append(_part(name, scalar_text(item).encode("utf-8"), declared))
    out = b"".join(b"--" + boundary.encode("ascii") + b"\r\n" + part for part in parts)
    return out + b"--" + boundary.encode("ascii") + b"--\r\n"


def _part(name: str, data: bytes, content_type: str | None, *, filename: str | None = None) -> bytes:
    disposition = f'form-data; name="{_quote_header_param(name)}"'
    if filename is not None:
        disposition += f'; filename="{_quote_header_param(filename)}"'
    head = f"Content-Disposition: {disposition}\r\n"
    if content_type:
        head += f"Content-Type: {content_type}\r\n"
    return head.encode("utf-8") + b"\r\n" + data + b"\r\n"


def _quote_header_param(text: str) -> str:
    # As browsers do (WHATWG multipart/form-data encoding): escape quotes and line breaks.
    return text.replace("\r", "%0D").replace("\n", "%0A").replace('"', "%22")


# -- plans from the parser's output -------------------------------------------------------------------


def accept_for(content_types: Iterable[str]) -> str:
    kinds = {media_kind(ct) for ct in content_types}
    if kinds & {"json", "json-like"} or not kinds:
        return "application/json, */*;q=0.8"
    return "*/*"


def plan_for(
    *,
    method: str,
    path: str,
    parameters: Iterable[Mapping[str, Any]],
    request_body: Mapping[str, Any] | None,
    arguments: Mapping[str, Mapping[str, str]],
    response_content_types: Iterable[str] = (),
) -> RequestPlan:
    """A plan from the stored form of an operation (see ``actions.models.Operation``)."""
    return RequestPlan(
        method=method.upper(),
        path=path,
        parameters=tuple(ParameterSpec.from_dict(p) for p in parameters),
        body=BodySpec.from_dict(request_body),
        arguments={arg: (source["in"], source["name"]) for arg, source in arguments.items()},
        accept=accept_for(response_content_types),
    )

"""Server objects: base URLs with their variables substituted."""

from __future__ import annotations

import re
from typing import Any

from .models import Notice, Server, ServerVariable

_VARIABLE = re.compile(r"\{([^{}]+)\}")


def parse_servers(raw: Any, *, where: str = "servers") -> tuple[list[Server], list[Notice]]:
    """Servers as declared, with each ``{variable}`` replaced by its default."""
    servers: list[Server] = []
    notices: list[Notice] = []
    if raw is None:
        return servers, notices
    if not isinstance(raw, list):
        return servers, [Notice("invalid_server", f"{where} should be a list; it was ignored.")]
    for index, entry in enumerate(raw):
        if not isinstance(entry, dict) or not isinstance(entry.get("url"), str):
            notices.append(Notice("invalid_server", f"{where}[{index}] has no URL; it was ignored."))
            continue
        variables = _variables(entry.get("variables"))
        template = entry["url"].strip()
        url = substitute_variables(template, variables)
        unresolved = _VARIABLE.findall(url)
        if unresolved:
            notices.append(
                Notice(
                    "server_variable_without_default",
                    f"Server URL {template} uses {', '.join('{' + v + '}' for v in unresolved)} "
                    "without a default value; set the base URL by hand.",
                )
            )
        description = entry.get("description")
        servers.append(
            Server(
                url=normalize_base_url(url),
                template=template,
                description=description if isinstance(description, str) else "",
                variables=tuple(variables.values()),
            )
        )
    return servers, notices


def substitute_variables(template: str, variables: dict[str, ServerVariable]) -> str:
    """``{name}`` replaced by the variable's default; unknown names are left as they are."""

    def replace(match: re.Match[str]) -> str:
        variable = variables.get(match.group(1))
        return variable.default if variable is not None else match.group(0)

    return _VARIABLE.sub(replace, template)


def normalize_base_url(url: str) -> str:
    """Without a trailing slash, so that base URL + operation path (which starts with "/") joins cleanly."""
    url = url.strip()
    stripped = url.rstrip("/")
    if not stripped or stripped.endswith(":/"):  # "/" or a bare "https://"
        return url
    return stripped


def _variables(raw: Any) -> dict[str, ServerVariable]:
    variables: dict[str, ServerVariable] = {}
    if not isinstance(raw, dict):
        return variables
    for name, spec in raw.items():
        if not isinstance(spec, dict):
            continue
        enum = tuple(str(value) for value in spec.get("enum") or [] if isinstance(value, (str, int, float)))
        default = spec.get("default")
        if default is None:
            default = enum[0] if enum else None
        if default is None:
            continue  # left in the URL, and reported by the caller
        description = spec.get("description")
        variables[str(name)] = ServerVariable(
            name=str(name),
            default=str(default),
            enum=enum,
            description=description if isinstance(description, str) else "",
        )
    return variables

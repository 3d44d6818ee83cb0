"""Call one operation: validate the arguments, build the request, send it through egress, read the answer.

Every outcome is a value, never an exception: arguments that do not match the schema, a blocked
address, a timeout or a 500 all become an :class:`Invocation` whose ``content`` tells the model
what happened in JSON it can act on (which argument is wrong and why; that retrying is pointless;
the API's own error body). Credentials are added last, only to the outgoing request; traces and
the test console get masked copies, and every secret is scrubbed from what comes back.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from actions import auth, selectors
from actions.models import AuthType, Operation
from actions.request_building import (
    BuiltRequest,
    RequestBuildError,
    RequestPlan,
    append_query,
    build_request,
    plan_for,
)
from actions.truncation import dumps, render_body
from switchboard import egress
from switchboard.lru import LRUCache

logger = logging.getLogger(__name__)

MAX_PROBLEMS = 10
CONSOLE_BODY_CHARS = 64 * 1024
ERROR_BODY_CHARS = 4000

# egress error code -> what the tool result says
_EGRESS_CODES = {
    "blocked_address": "egress_blocked",
    "invalid_url": "invalid_url",
    "dns_failure": "dns_failure",
    "connect_timeout": "timeout",
    "read_timeout": "timeout",
    "deadline_exceeded": "timeout",
    "timeout": "timeout",
    "too_many_redirects": "too_many_redirects",
    "response_too_large": "response_too_large",
    "connection_error": "connection_error",
    "invalid_response": "invalid_response",
    "invalid_request": "invalid_request",
}
_ADVICE = {
    "egress_blocked": "The platform does not call this address. This is a configuration matter for the "
    "workspace admin, not something to retry.",
    "invalid_url": "The action's base URL is not usable; the workspace must fix it. Do not retry.",
    "dns_failure": "The API's host name could not be found; the action's base URL may be wrong. Do not retry.",
    "timeout": "The API did not answer in time. It may be slow or down; try again later at most once.",
    "too_many_redirects": "The API redirected too many times. Do not retry.",
    "response_too_large": "The response is too large to read. Ask for less data (filters, a smaller page "
    "size or fewer fields) and call the tool again.",
    "connection_error": "The API could not be reached. It may be down; try again later at most once.",
    "invalid_response": "The API sent a response that could not be read. Do not retry.",
    "invalid_request": "The request could not be sent as built from these arguments; correct them.",
}


@dataclass(frozen=True)
class RequestView:
    method: str
    url: str
    headers: list[tuple[str, str]]
    body: str | None
    body_bytes: int
    body_truncated: bool


@dataclass(frozen=True)
class ResponseView:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: str
    bytes: int
    content_type: str
    elapsed_ms: float
    body_truncated: bool
    redirects: list[dict[str, Any]]


@dataclass(frozen=True)
class Invocation:
    ok: bool
    content: str
    error: str | None
    duration_ms: float
    trace: dict[str, Any]
    request: RequestView | None = None
    response: ResponseView | None = None
    problems: list[dict[str, Any]] = field(default_factory=list)


class _Failure(Exception):
    def __init__(self, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra


# -- per-operation caches (schema validators and request plans) ---------------------------------------

_validators: LRUCache[Draft202012Validator] = LRUCache(1024)
_plans: LRUCache[RequestPlan] = LRUCache(1024)


def _validator(operation: Operation) -> Draft202012Validator:
    return _validators.get((operation.pk, operation.fingerprint), lambda: Draft202012Validator(operation.input_schema))


def plan_of(operation: Operation) -> RequestPlan:
    return _plans.get(
        (operation.pk, operation.fingerprint),
        lambda: plan_for(
            method=operation.method,
            path=operation.path,
            parameters=operation.parameters,
            request_body=operation.request_body,
            arguments=operation.arguments,
            response_content_types=operation.response_content_types,
        ),
    )


# -- arguments ----------------------------------------------------------------------------------------


def parse_arguments(raw: str | Mapping[str, Any] | None) -> dict[str, Any]:
    if raw is None:
        return {}
    if isinstance(raw, Mapping):
        return dict(raw)
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise _Failure(
            "invalid_arguments",
            f"The arguments are not valid JSON ({exc.msg} at line {exc.lineno}, "
            f"column {exc.colno}). Send one JSON object.",
        ) from None
    if not isinstance(value, dict):
        raise _Failure("invalid_arguments", 'The arguments must be one JSON object, e.g. {"id": "123"}.')
    return value


def argument_problems(operation: Operation, arguments: dict[str, Any]) -> list[dict[str, Any]]:
    """What is wrong with ``arguments`` for this operation's schema (empty when they are valid)."""
    try:
        errors = list(_validator(operation).iter_errors(arguments))
    except Exception:
        logger.warning("the argument schema of operation %s cannot be checked", operation.pk, exc_info=True)
        return []
    errors.sort(key=lambda error: ([str(p) for p in error.absolute_path], str(error.validator)))
    problems = []
    for error in errors[:MAX_PROBLEMS]:
        problem: dict[str, Any] = {"argument": _path(error.absolute_path) or None, "message": _cap(error.message)}
        if error.context:
            detail = best_match(error.context)
            if detail is not None:
                where = _path(detail.absolute_path)
                problem["detail"] = _cap(f"{where}: {detail.message}" if where else detail.message)
        expected = _expected(error.schema, error.validator)
        if expected:
            problem["expected"] = expected
        problems.append(problem)
    if len(errors) > MAX_PROBLEMS:
        problems.append({"argument": None, "message": f"… and {len(errors) - MAX_PROBLEMS} more problems"})
    return problems


def _path(parts) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _cap(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


_EXPECTED_KEYS = (
    "type",
    "enum",
    "const",
    "format",
    "pattern",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "multipleOf",
)


def _expected(schema: Any, validator: str) -> dict[str, Any] | None:
    if not isinstance(schema, dict) or validator in ("required", "additionalProperties", "anyOf", "oneOf"):
        return None
    expected = {key: schema[key] for key in _EXPECTED_KEYS if key in schema}
    if "enum" in expected and len(json.dumps(expected["enum"], default=str)) > 500:
        expected["enum"] = expected["enum"][:20]
    return expected or None


# -- the call -----------------------------------------------------------------------------------------


def invoke_operation(
    operation: Operation,
    arguments: str | Mapping[str, Any] | None,
    *,
    policy: egress.EgressPolicy | None = None,
    detailed: bool = False,
) -> Invocation:
    """Run one call of ``operation`` (whose ``action`` must be loaded). Never raises for the call's problems."""
    started = time.perf_counter()
    call = _Call(operation, started, detailed)
    try:
        return call.run(arguments, policy)
    except _Failure as failure:
        return call.failed(failure)


def preflight(operation: Operation, arguments: str | Mapping[str, Any] | None) -> Invocation | None:
    """The failed Invocation a call with these arguments would end in before sending anything
    (arguments that do not match, no base URL, a request that cannot be built), or None when the
    call can be sent. Lets a person be asked to approve only calls that can actually run."""
    call = _Call(operation, time.perf_counter(), detailed=False)
    try:
        call.prepare(arguments)
    except _Failure as failure:
        return call.failed(failure)
    return None


class _Call:
    def __init__(self, operation: Operation, started: float, detailed: bool) -> None:
        self.operation = operation
        self.action = operation.action
        self.started = started
        self.detailed = detailed
        self.secrets: tuple[str, ...] = ()
        self.request_view: RequestView | None = None
        self.response_view: ResponseView | None = None
        self.masked_url: str | None = None
        self.problems: list[dict[str, Any]] = []
        self.target_ms: float | None = None

    def prepare(self, raw_arguments: Any) -> BuiltRequest:
        """Everything short of sending: the arguments checked and the request built."""
        operation = self.operation
        arguments = parse_arguments(raw_arguments)
        self.problems = argument_problems(operation, arguments)
        if self.problems:
            raise _Failure(
                "invalid_arguments",
                "The arguments do not match this tool's parameters; correct them and call the tool again.",
                problems=self.problems,
            )
        base_url = operation.effective_server_url
        if not base_url:
            raise _Failure(
                "no_server_url", "This action has no base URL configured; the workspace must set one. Do not retry."
            )
        try:
            return build_request(plan_of(operation), base_url, arguments)
        except RequestBuildError as exc:
            problem = {"argument": exc.param, "message": exc.message}
            self.problems = [problem]
            raise _Failure(
                "invalid_arguments",
                f"The request cannot be built: {exc.message}. Correct the arguments and call the tool again.",
                problems=[problem],
            ) from None

    def run(self, raw_arguments: Any, policy: egress.EgressPolicy | None) -> Invocation:
        operation = self.operation
        built = self.prepare(raw_arguments)
        policy = policy or selectors.tool_policy(workspace_id=operation.workspace_id)
        applied, cached_token = self._credentials(policy)
        response = self._send(built, applied, policy)
        if response.status_code == 401 and cached_token:
            # The cached token may have been revoked early: get a fresh one and try once more.
            applied, _ = self._credentials(policy, force_refresh=True)
            response = self._send(built, applied, policy)
        return self._result(built, response)

    # -- credentials --------------------------------------------------------------------------------

    def _credentials(
        self, policy: egress.EgressPolicy, *, force_refresh: bool = False
    ) -> tuple[auth.AppliedAuth, bool]:
        action, operation = self.action, self.operation
        if action.auth_type == AuthType.NONE or operation.no_credentials:
            return auth.NO_AUTH, False
        credentials = action.credential_values()
        missing = auth.missing_secrets(action.auth_type, credentials)
        if missing:
            if _allows_anonymous(operation.security):
                return auth.NO_AUTH, False
            raise _Failure(
                "credentials_missing",
                f"The action's credentials are not set ({', '.join(missing)} missing); the workspace "
                "must add them before this tool can be used. Do not retry.",
            )
        if action.auth_type == AuthType.OAUTH2_CLIENT_CREDENTIALS:
            self.secrets = _secret_variants(credentials.get("client_secret", ""))
            try:
                token, fetched = auth.oauth_token_for(action, policy=policy, force=force_refresh)
            except auth.AuthError as exc:
                raise _Failure(
                    "auth_failed",
                    f"{auth.scrub(exc.message, self.secrets)} This is a configuration "
                    "matter for the workspace; do not retry.",
                ) from None
            applied = auth.bearer_auth(token)
            self.secrets = tuple(dict.fromkeys(self.secrets + _json_variants(applied.secrets)))
            return applied, not fetched
        applied = auth.static_auth(action.auth_type, action.auth_config, credentials)
        self.secrets = _json_variants(applied.secrets)
        return applied, False

    # -- sending ------------------------------------------------------------------------------------

    def _send(
        self, built: BuiltRequest, applied: auth.AppliedAuth, policy: egress.EgressPolicy
    ) -> egress.EgressResponse:
        auth_names = {name.lower() for name, _ in applied.headers}
        headers = [(n, v) for n, v in built.headers if n.lower() not in auth_names] + list(applied.headers)
        url = append_query(built.url, applied.query)
        self.masked_url = auth.scrub(append_query(built.url, applied.masked_query, encode_values=False), self.secrets)
        if self.detailed:
            shown = [(n, v) for n, v in built.headers if n.lower() not in auth_names] + list(applied.masked_headers)
            body_text = built.body.decode("utf-8", errors="replace") if built.body else None
            truncated = bool(body_text and len(body_text) > CONSOLE_BODY_CHARS)
            self.request_view = RequestView(
                method=built.method,
                url=self.masked_url,
                headers=[(n, auth.scrub(v, self.secrets)) for n, v in shown],
                body=auth.scrub(body_text[:CONSOLE_BODY_CHARS], self.secrets) if body_text else None,
                body_bytes=len(built.body or b""),
                body_truncated=truncated,
            )
        try:
            response = egress.request(built.method, url, policy=policy, headers=headers, content=built.body)
        except egress.EgressError as exc:
            egress.release_traceback(exc)
            code = _EGRESS_CODES.get(exc.code, "connection_error")
            message = auth.scrub(exc.message, self.secrets)
            raise _Failure(code, f"{message} {_ADVICE.get(code, '')}".strip()) from None
        self.target_ms = round(response.elapsed * 1000, 2)
        return response

    # -- results ------------------------------------------------------------------------------------

    def _result(self, built: BuiltRequest, response: egress.EgressResponse) -> Invocation:
        max_chars = settings.ACTIONS_TOOL_RESPONSE_MAX_CHARS
        content_type = response.headers.get("content-type", "")
        body = response.content
        if self.secrets and body:
            text = body.decode(response.encoding, errors="replace")
            scrubbed = auth.scrub(text, self.secrets)
            if scrubbed != text:
                body = scrubbed.encode(response.encoding, errors="replace")
        ok = response.is_success
        if ok:
            shown = render_body(body, content_type=content_type, encoding=response.encoding, max_chars=max_chars)
            content = shown.text or dumps(
                {"status": response.status_code, "message": "The request succeeded; the response has no content."}
            )
            truncated, error = shown.truncated, None
        else:
            shown = render_body(
                body, content_type=content_type, encoding=response.encoding, max_chars=min(ERROR_BODY_CHARS, max_chars)
            )
            error = f"http_{response.status_code}"
            excerpt: Any = shown.text
            if shown.is_json:
                with contextlib.suppress(ValueError):  # not JSON after all: the text it is
                    excerpt = json.loads(shown.text)
            content = dumps(
                {
                    "error": {
                        "code": error,
                        "status": response.status_code,
                        "message": _status_advice(response.status_code, response.reason_phrase),
                        "body": excerpt,
                    }
                }
            )
            truncated = shown.truncated
        content = auth.scrub(content, self.secrets)
        if self.detailed:
            raw_text = body.decode(response.encoding, errors="replace")
            self.response_view = ResponseView(
                status=response.status_code,
                reason=response.reason_phrase,
                headers=[(n, auth.scrub(v, self.secrets)) for n, v in response.headers.multi_items()],
                body=raw_text[:CONSOLE_BODY_CHARS],
                bytes=len(response.content),
                content_type=content_type,
                elapsed_ms=self.target_ms or 0.0,
                body_truncated=len(raw_text) > CONSOLE_BODY_CHARS,
                redirects=[
                    {"url": auth.scrub(_without_query(hop.url), self.secrets), "status": hop.status_code}
                    for hop in response.redirects
                ],
            )
        trace_response = {
            "status": response.status_code,
            "bytes": len(response.content),
            "content_type": content_type.split(";", 1)[0].strip(),
            "truncated": truncated,
            "redirects": len(response.redirects),
        }
        return self._finish(ok=ok, content=content, error=error, response=trace_response)

    def failed(self, failure: _Failure) -> Invocation:
        payload = {"code": failure.code, "message": failure.message, **failure.extra}
        content = auth.scrub(dumps({"error": payload}), self.secrets)
        return self._finish(ok=False, content=content, error=failure.code, response=None)

    def _finish(self, *, ok: bool, content: str, error: str | None, response: dict[str, Any] | None) -> Invocation:
        duration_ms = round((time.perf_counter() - self.started) * 1000, 2)
        operation = self.operation
        trace: dict[str, Any] = {
            "action_id": operation.action_id,
            "operation_id": operation.pk,
            "operation": f"{operation.method} {operation.path}",
        }
        if self.masked_url is not None:
            trace["request"] = {"method": operation.method, "url": self.masked_url}
        if response is not None:
            trace["response"] = response
        if self.target_ms is not None:
            trace["target_ms"] = self.target_ms
            trace["overhead_ms"] = round(max(0.0, duration_ms - self.target_ms), 2)
        if error:
            trace["error"] = error
        logger.info(
            "action call %s %s (%s): %s in %.1f ms",
            operation.method,
            operation.path,
            operation.pk,
            error or (response or {}).get("status"),
            duration_ms,
        )
        return Invocation(
            ok=ok,
            content=content,
            error=error,
            duration_ms=duration_ms,
            trace=trace,
            request=self.request_view,
            response=self.response_view,
            problems=self.problems,
        )


def _allows_anonymous(security: list[dict[str, Any]]) -> bool:
    """No requirement declared, or an empty alternative among them: the call may go without credentials."""
    return not security or any(not requirement for requirement in security)


def _secret_variants(secret: str) -> tuple[str, ...]:
    return _json_variants(auth._variants(secret))


def _json_variants(secrets: tuple[str, ...]) -> tuple[str, ...]:
    """Also the forms the secrets take inside JSON strings (quotes and backslashes escaped)."""
    escaped = tuple(json.dumps(secret)[1:-1] for secret in secrets)
    return tuple(dict.fromkeys(secrets + escaped))


def _without_query(url: str) -> str:
    return url.split("?", 1)[0]


def _status_advice(status: int, reason: str) -> str:
    head = f"The API answered HTTP {status}{' ' + reason if reason else ''}."
    if status in (401, 403):
        return (
            f"{head} It refused the action's credentials or permissions; this is a configuration matter "
            "for the workspace, not something to fix by changing arguments."
        )
    if status == 404:
        return f"{head} Nothing was found: check the identifiers in the arguments."
    if status == 429:
        return f"{head} Too many requests: wait before trying again."
    if status in (400, 409, 412, 422):
        return f"{head} The API rejected the request: read its error body, correct the arguments and try again."
    if status >= 500:
        return f"{head} The API failed on its side; trying again later may help."
    return head


def invocation_report(result: Invocation) -> dict[str, Any]:
    request = result.request
    response = result.response
    return {
        "ok": result.ok,
        "error": result.error,
        "duration_ms": result.duration_ms,
        "problems": result.problems,
        "request": None
        if request is None
        else {
            "method": request.method,
            "url": request.url,
            "headers": [list(h) for h in request.headers],
            "body": request.body,
            "body_bytes": request.body_bytes,
            "body_truncated": request.body_truncated,
        },
        "response": None
        if response is None
        else {
            "status": response.status,
            "reason": response.reason,
            "headers": [list(h) for h in response.headers],
            "body": response.body,
            "bytes": response.bytes,
            "content_type": response.content_type,
            "elapsed_ms": response.elapsed_ms,
            "body_truncated": response.body_truncated,
            "redirects": response.redirects,
        },
        "tool_result": result.content,
    }

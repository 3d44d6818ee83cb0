"""The OpenAI-compatible API: any OpenAI SDK can talk to a published bot.

`POST /v1/chat/completions` with `model` = the bot's slug and a workspace API key. The request's
last message must be the user's; earlier user/assistant messages are the client's history (OpenAI's
API is stateless) and become the conversation's first messages. Switchboard-specific inputs ride in
the SDK's `extra_body`: `inputs` (bot variables) and `conversation_id` (continue a stored
conversation instead of sending history). Client `system` messages are ignored: the bot's own
system prompt governs. Sampling parameters come from the bot's configuration.

What does not exist in OpenAI's format surfaces in an extra `switchboard` object on the final
chunk (streaming) or the response (blocking): `message_id`, `conversation_id`, `citations`, and,
when a consequential tool call waits for the user, `confirmation_required` (the call, and where to
POST the answer); the text then ends with finish_reason "stop" and the turn continues after
`POST /api/v1/messages/{message_id}/confirmations`.
"""

from __future__ import annotations

import json
import time
from typing import Any

from asgiref.sync import sync_to_async
from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import ApiKeyPrincipal
from accounts.tenancy import WorkspaceScopedMixin
from bots import budgets, events, sse
from bots.chat_scope import require_published_for_chat_scope
from bots.models import Bot, Channel, Message, MessageState, ToolCall, ToolCallState
from bots.openai_schema import ChatCompletionRequestSerializer
from bots.selectors import chat_bot
from bots.turns import turn_accept
from switchboard.api.deferred import DeferredResponse, json_response
from switchboard.api.errors import ApiError


def _published_bot(workspace, slug: Any) -> Bot:
    if not isinstance(slug, str) or not slug:
        raise ApiError(
            "model is required: use a bot's slug (GET /v1/models lists them).", code="missing_model", param="model"
        )
    bot = chat_bot(workspace_id=workspace.pk, slug=slug)
    if bot is None:
        raise ApiError(
            f"The model `{slug}` does not exist: use a bot's slug (GET /v1/models lists them).",
            code="model_not_found",
            status_code=404,
            param="model",
        )
    if bot.published_version_id is None:
        raise ApiError(
            f"The bot `{slug}` is not published yet; publish it to serve it here.",
            code="model_not_found",
            status_code=404,
            param="model",
        )
    return bot


def _text_of(content: Any) -> str:
    """OpenAI message content: a string, or a list of parts of which we use the text ones."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            part.get("text", "") for part in content if isinstance(part, dict) and part.get("type") == "text"
        )
    return ""


def _split_messages(messages: Any) -> tuple[str, list[dict[str, str]]]:
    if not isinstance(messages, list) or not messages:
        raise ApiError("messages must be a non-empty array.", code="invalid_messages", param="messages")
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in (
            "system",
            "developer",
            "user",
            "assistant",
            "tool",
        ):
            raise ApiError(
                f"messages[{index}] needs a role of system, user or assistant.",
                code="invalid_messages",
                param=f"messages[{index}]",
            )
    last = messages[-1]
    if last["role"] != "user":
        raise ApiError(
            "The last message must come from the user.", code="invalid_messages", param=f"messages[{len(messages) - 1}]"
        )
    history = [
        {"role": m["role"], "content": _text_of(m.get("content"))}
        for m in messages[:-1]
        if m["role"] in ("user", "assistant") and _text_of(m.get("content"))
    ]
    return _text_of(last.get("content")), history


def _extension(message: Message) -> dict[str, Any]:
    extra: dict[str, Any] = {
        "message_id": message.pk,
        "conversation_id": message.conversation_id,
        "citations": message.citations,
    }
    if message.state == MessageState.AWAITING_CONFIRMATION:
        waiting = ToolCall.objects.filter(message=message, state=ToolCallState.AWAITING_CONFIRMATION)
        extra["confirmation_required"] = [events.ToolConfirmationRequired.of(tc).data() for tc in waiting]
    return extra


class ChatCompletionsApi(WorkspaceScopedMixin, APIView):
    renderer_classes = [JSONRenderer, sse.EventStreamRenderer]
    chat_scope_allowed = True  # serves published bots only

    @extend_schema(
        operation_id="openai_chat_completions",
        request=ChatCompletionRequestSerializer,
        responses=dict,
        description=__doc__,
        tags=["OpenAI-compatible"],
    )
    def post(self, request):
        body = request.data if isinstance(request.data, dict) else {}
        bot = _published_bot(self.workspace, body.get("model"))
        text, history = _split_messages(body.get("messages"))
        conversation_id = body.get("conversation_id")
        require_published_for_chat_scope(
            request, workspace=self.workspace, draft=False, conversation_id=conversation_id
        )
        accepted = turn_accept(
            workspace=self.workspace,
            bot=bot,
            text=text,
            inputs=body.get("inputs"),
            conversation_id=conversation_id,
            end_user=str(body.get("user") or "openai")[:255],
            channel=Channel.OPENAI,
            history=None if conversation_id else history,
            api_key_id=request.user.api_key.pk if isinstance(request.user, ApiKeyPrincipal) else None,
        )
        message = accepted.assistant_message
        warnings = budgets.warning_headers(accepted.budget_warnings)
        completion_id = f"chatcmpl-{message.pk}"
        created = int(time.time())
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return sse.sse_response(
                _openai_stream(
                    message.pk,
                    completion_id=completion_id,
                    created=created,
                    model=bot.slug,
                    include_usage=include_usage,
                ),
                headers={"X-Message-Id": message.pk, **warnings},
            )
        response = DeferredResponse(
            lambda: _blocking_completion(message.pk, completion_id=completion_id, created=created, model=bot.slug)
        )
        for name, value in warnings.items():
            response[name] = value
        return response


async def _blocking_completion(message_id: str, *, completion_id: str, created: int, model: str):
    await sse.await_turn_or_raise(message_id)
    return json_response(
        await sync_to_async(_completion_body)(message_id, completion_id=completion_id, created=created, model=model)
    )


def _completion_body(message_id: str, *, completion_id: str, created: int, model: str) -> dict[str, Any]:
    finished = Message.objects.get(pk=message_id)
    if finished.state == MessageState.FAILED:
        raise ApiError(finished.error["message"], code=finished.error["code"], status_code=502, error_type="api_error")
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": finished.content},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": _openai_usage(events.usage_of(finished)),
        "switchboard": _extension(finished),
    }


def _openai_usage(usage: dict[str, int]) -> dict[str, int]:
    return {
        "prompt_tokens": usage["input_tokens"],
        "completion_tokens": usage["output_tokens"],
        "total_tokens": usage["total_tokens"],
    }


def _chunk(
    completion_id: str, created: int, model: str, delta: dict, finish_reason: str | None = None, **extra
) -> bytes:
    payload = {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
        **extra,
    }
    return f"data: {json.dumps(payload, ensure_ascii=False, separators=(',', ':'))}\n\n".encode()


def _openai_stream(message_id: str, *, completion_id: str, created: int, model: str, include_usage: bool):
    state = {"role_sent": False}

    def transform(entry_id: str, event: str, data: dict) -> list[bytes]:
        frames: list[bytes] = []
        if not state["role_sent"]:
            state["role_sent"] = True
            frames.append(_chunk(completion_id, created, model, {"role": "assistant", "content": ""}))
        parsed = events.parse(event, data)
        if isinstance(parsed, events.Delta):
            frames.append(_chunk(completion_id, created, model, {"content": parsed.text}))
        elif isinstance(parsed, events.ToolConfirmationRequired):
            # As stored, message_id included: what streaming clients have always received.
            frames.append(
                _chunk(
                    completion_id,
                    created,
                    model,
                    {},
                    "stop",
                    switchboard={"message_id": message_id, "confirmation_required": [data]},
                )
            )
        elif isinstance(parsed, events.Error):
            frames.append(f"data: {json.dumps({'error': {'type': 'api_error', **data}})}\n\n".encode())
        elif isinstance(parsed, events.MessageEnd):
            extension = {
                "message_id": message_id,
                "conversation_id": parsed.conversation_id,
                "citations": parsed.citations,
                "state": parsed.state,
            }
            frames.append(_chunk(completion_id, created, model, {}, "stop", switchboard=extension))
            if include_usage:
                payload = {
                    "id": completion_id,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": model,
                    "choices": [],
                    "usage": _openai_usage(parsed.usage),
                }
                frames.append(f"data: {json.dumps(payload, separators=(',', ':'))}\n\n".encode())
        return frames

    # Comment frames (": ping") are valid SSE; OpenAI clients skip them.
    def interrupted(code: str, message: str) -> list[bytes]:
        error = {"error": {"type": "api_error", "code": code, "message": message}}
        return [f"data: {json.dumps(error, ensure_ascii=False)}\n\n".encode()]

    return sse.relay(
        message_id,
        transform=transform,
        closing=lambda: [b"data: [DONE]\n\n"],
        interrupted=interrupted,
        reconnect_hint=False,
    )


class ModelListApi(WorkspaceScopedMixin, generics.GenericAPIView):
    """Published bots of the workspace, as OpenAI models."""

    chat_scope_allowed = True

    @extend_schema(operation_id="openai_models", responses=dict, tags=["OpenAI-compatible"])
    def get(self, request):
        bots = Bot.objects.filter(workspace=self.workspace, published_version__isnull=False).order_by("slug")
        return Response(
            {
                "object": "list",
                "data": [
                    {
                        "id": bot.slug,
                        "object": "model",
                        "created": int(bot.created_at.timestamp()),
                        "owned_by": self.workspace.name,
                        "name": bot.name,
                        "description": bot.description,
                    }
                    for bot in bots
                ],
            }
        )

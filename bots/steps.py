"""The steps of a chat turn, as the worker runs them: retrieve, generate, run a tool call.

Each step is idempotent on (message, step): the message row records the step the turn is at, a
task for another step does nothing, and a lease (held by bots.tasks) keeps a redelivered task
from running beside a live one. States change and next steps are sent through bots.lifecycle.
Text streams to the client through Redis; the database is written when a step ends, not per token.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import structlog
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from actions.tools import check_tool_call, invoke_tool, tools_for_operations
from bots import events, lifecycle, tool_rounds
from bots.config import BotConfig
from bots.delta_batching import DeltaBatcher
from bots.lifecycle import Ended, ms_since
from bots.models import Message, MessageState, ToolCall, ToolCallState
from bots.prompting import ContextSource, HistoryMessage, build_messages, fill_template
from bots.selectors import turn_config
from knowledge.retrieval import retrieve
from providers.clients import Completion, ProviderError, TextDelta, stream_chat
from switchboard.db_connections import release_pooled_connections
from switchboard.interrupt import interrupted_when
from switchboard.queries import PreparedQuery, one_or_none
from switchboard.text import count_tokens

logger = structlog.get_logger(__name__)

# How often a streaming turn looks for a stop request (a Redis EXISTS): often enough that Stop
# feels immediate, rarely enough to cost nothing next to the tokens themselves.
CANCEL_CHECK_SECONDS = 0.25
BACKOFF_BASE_SECONDS = 0.5


# Every step of every turn starts here: compiled once (switchboard.queries.PreparedQuery).
_LOAD = PreparedQuery(
    lambda message_id: (
        Message.objects.select_related("conversation__bot__published_version", "reply_to", "provider_model__provider")
        .filter(pk=message_id)
        .order_by()[:1]
    ),
    parameters=["message_id"],
)


def _load(message_id: str) -> Message | None:
    return _LOAD.one_or_none(message_id=message_id)


# -- retrieval ----------------------------------------------------------------------------------------


def turn_retrieve(*, message_id: str) -> bool:
    """Run retrieval for the turn; returns whether generation should follow."""
    message = _load(message_id)
    if message is None or message.is_finished or message.retrieved_at is not None:
        return message is not None and not message.is_finished
    lifecycle.start(message)
    config = turn_config(message.conversation.bot, message.conversation.version_number)
    knowledge = config.knowledge
    started = time.perf_counter()
    try:
        hits = retrieve(
            workspace_id=message.workspace_id,
            knowledge_base_ids=knowledge.knowledge_base_ids,
            query=message.reply_to.content,
            top_k=knowledge.top_k,
            score_threshold=knowledge.score_threshold,
        )
    except Exception as exc:  # retrieval trouble must not cost the user the answer
        logger.exception("retrieval failed", message_id=message_id)
        hits = []
        message.trace.append({"type": "retrieval", "error": str(exc), "hits": []})
    else:
        message.trace.append(
            {
                "type": "retrieval",
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                "hits": [
                    {**hit.citation(), "text": hit.text, "vector_score": hit.vector_score, "text_score": hit.text_score}
                    for hit in hits
                ],
            }
        )
    message.citations = [hit.citation() for hit in hits]
    message.context = [
        {"label": citation.get("document_name", "document"), "text": hit.text, "page": citation.get("page")}
        for hit, citation in zip(hits, message.citations, strict=True)
    ]
    message.retrieved_at = timezone.now()
    message.save(update_fields=["trace", "citations", "context", "retrieved_at", "updated_at"])
    events.emit(message.pk, events.Retrieval(citations=message.citations))
    if not hits and knowledge.no_match_reply:
        reply = knowledge.no_match_reply
        events.emit(message.pk, events.Delta(text=reply))
        message.ttft_ms = ms_since(message.created_at)
        lifecycle.finish(message, content=reply)
        return False
    return True


# -- generation ---------------------------------------------------------------------------------------


# The turn's earlier messages, newest first with a limit (a turn can have several assistant
# replies), as plain SQL: a fixed read on every model call, where the ORM's compilation cost more
# than PostgreSQL's answer (the index on conversation and created_at serves it).
_HISTORY_SQL = (
    "SELECT role, content FROM {table} WHERE conversation_id = %s AND created_at < %s "
    "AND state <> %s AND content <> '' ORDER BY created_at DESC LIMIT %s"
)


def _history(message: Message, max_turns: int) -> list[HistoryMessage]:
    if max_turns <= 0:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            _HISTORY_SQL.format(table=connection.ops.quote_name(Message._meta.db_table)),
            [message.conversation_id, message.reply_to.created_at, MessageState.FAILED.value, max_turns * 4],
        )
        earlier = cursor.fetchall()
    earlier.reverse()
    return [HistoryMessage(role, content) for role, content in earlier]


def _context(message: Message) -> list[ContextSource]:
    return [
        ContextSource(label=source["label"], text=source["text"], page=source.get("page")) for source in message.context
    ]


@dataclass
class _Outcome:
    text: str
    completion: Any
    cancelled: bool
    ttft_ms: float | None


def _stream_once(message: Message, call_kwargs: dict[str, Any], conn) -> _Outcome:
    provider_model = message.provider_model
    text_parts: list[str] = []
    completion = None
    ttft = None
    # The model may think for seconds or minutes: the database connection is not needed meanwhile.
    release_pooled_connections()
    deltas = DeltaBatcher(
        lambda text: events.emit_delta(message.pk, text, conn=conn), linger=settings.STREAM_DELTA_LINGER_MS / 1000
    )
    next_check = time.monotonic() + CANCEL_CHECK_SECONDS
    try:
        # A stop must not wait for the model's first token, which may be a minute away.
        with interrupted_when(
            lambda: events.cancel_requested(message.pk, conn=conn), every=CANCEL_CHECK_SECONDS, exception=_Stopped
        ) as watched:
            for item in stream_chat(provider_model.provider, model=provider_model.model, **call_kwargs):
                if isinstance(item, TextDelta):
                    if ttft is None:
                        ttft = ms_since(message.created_at)
                    text_parts.append(item.text)
                    deltas.add(item.text)
                elif isinstance(item, Completion):
                    completion = item
                # Without a watcher (worker on processes or OS threads), look between tokens.
                if not watched and time.monotonic() >= next_check:
                    next_check = time.monotonic() + CANCEL_CHECK_SECONDS
                    if events.cancel_requested(message.pk, conn=conn):
                        return _Outcome("".join(text_parts), None, True, ttft)
    except _Stopped:
        return _Outcome("".join(text_parts), None, True, ttft)
    finally:
        deltas.close()  # whatever was gathered goes out before any later event of the turn
    return _Outcome("".join(text_parts), completion, False, ttft)


class _Stopped(BaseException):
    """Raised in a turn blocked on its model when a stop was asked for (see switchboard.interrupt).

    A BaseException, like gevent's own GreenletExit: the HTTP clients on the way up catch
    `Exception` to retry or wrap it, and a stop must pass through them untouched.
    """


def _sleep_unless_cancelled(message_id: str, seconds: float, conn) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if events.cancel_requested(message_id, conn=conn):
            return False
        time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))
    return True


def turn_generate(*, message_id: str, step: int) -> None:
    """One model call of the turn (step N), then finish it or hand over to tools."""
    message = _load(message_id)
    if message is None or message.is_finished or message.step != step:
        return  # stale delivery: the turn moved on or ended
    if message.state == MessageState.AWAITING_CONFIRMATION:
        return
    conn = events.client()
    attempt_number, cancel_requested = lifecycle.begin_attempt(message.pk, step, conn)
    if cancel_requested:
        lifecycle.cancel(message)
        return
    lifecycle.start(message)
    if attempt_number > 1:
        # A previous delivery of this step died mid-stream: clients drop that partial text.
        events.emit(message.pk, events.MessageReset(step=step, reason="worker_restarted"), conn=conn)

    bot = message.conversation.bot
    config = turn_config(bot, message.conversation.version_number)
    provider_model = message.provider_model
    if provider_model is None or not provider_model.is_enabled or not provider_model.provider.is_enabled:
        lifecycle.fail(
            message,
            code="model_not_configured",
            text=f"Bot {bot.slug!r} has no usable chat model: a workspace admin should choose one in its settings.",
        )
        return

    tools = _tools_for(message, config)
    withhold_tools = len(message.tool_rounds) >= config.max_tool_iterations
    system_prompt = fill_template(config.system_prompt, message.conversation.inputs)
    messages = build_messages(
        system_prompt=system_prompt,
        history=_history(message, config.memory.max_turns),
        user_message=message.reply_to.content,
        max_turns=config.memory.max_turns,
        max_tokens=config.memory.max_tokens,
        context=_context(message),
        tool_rounds=message.tool_rounds,
    )
    model_settings = config.model
    call_kwargs = {
        "messages": messages,
        "tools": None if withhold_tools else [t.schema() for t in tools] or None,
        "temperature": model_settings.temperature,
        "top_p": model_settings.top_p,
        "max_tokens": model_settings.max_output_tokens,
        "json_output": model_settings.json_output,
    }

    prior_text = message.content
    attempt = 0
    while True:
        attempt += 1
        call_started = time.perf_counter()
        try:
            outcome = _stream_once(message, call_kwargs, conn)
            break
        except ProviderError as error:
            message.trace.append(
                {
                    "type": "model_error",
                    "step": step,
                    "attempt": attempt,
                    "code": error.code,
                    "status": error.status,
                    "message": error.message,
                    "duration_ms": round((time.perf_counter() - call_started) * 1000, 2),
                }
            )
            if not error.retryable or attempt >= settings.LLM_MAX_ATTEMPTS:
                attempts = f" after {attempt} attempts" if attempt > 1 else ""
                lifecycle.fail(message, code=error.code, text=error.message + attempts, content=prior_text)
                return
            backoff = BACKOFF_BASE_SECONDS * 2 ** (attempt - 1)
            wait = min(
                error.retry_after if error.retry_after is not None else backoff, settings.LLM_MAX_RETRY_WAIT_SECONDS
            )
            events.emit(message.pk, events.MessageReset(step=step, reason=error.code, retry_in=wait), conn=conn)
            if not _sleep_unless_cancelled(message.pk, wait, conn):
                lifecycle.cancel(message, partial_text=prior_text)
                return

    text = prior_text + outcome.text
    if message.ttft_ms is None and outcome.ttft_ms is not None:
        message.ttft_ms = outcome.ttft_ms
    if outcome.cancelled:
        # A stopped stream never gets the provider's usage report, but the prompt was sent and
        # part of the answer made: count both by estimate, so the log does not say 0 tokens.
        estimated_in = _estimated_tokens(messages)
        estimated_out = count_tokens(outcome.text)
        message.input_tokens += estimated_in
        message.output_tokens += estimated_out
        message.cost = provider_model.cost(input_tokens=message.input_tokens, output_tokens=message.output_tokens)
        message.trace.append(
            {
                "type": "generation",
                "step": step,
                "model": provider_model.model,
                "finish_reason": "stopped",
                "attempts": attempt,
                "input_tokens": estimated_in,
                "output_tokens": estimated_out,
                "tokens_estimated": True,
                "duration_ms": round((time.perf_counter() - call_started) * 1000, 2),
                "prompt": prompt_record(messages, call_kwargs["tools"]),
            }
        )
        lifecycle.cancel(message, partial_text=text)
        return
    completion = outcome.completion
    usage = {
        "input_tokens": message.input_tokens + completion.input_tokens,
        "output_tokens": message.output_tokens + completion.output_tokens,
    }
    cost = provider_model.cost(**usage)
    message.trace.append(
        {
            "type": "generation",
            "step": step,
            "model": provider_model.model,
            "finish_reason": completion.finish_reason,
            "attempts": attempt,
            "input_tokens": completion.input_tokens,
            "output_tokens": completion.output_tokens,
            "duration_ms": round((time.perf_counter() - call_started) * 1000, 2),
            "prompt": prompt_record(messages, call_kwargs["tools"]),
        }
    )
    if completion.tool_calls and not withhold_tools and tools:
        _begin_tool_round(
            message,
            step=step,
            text=outcome.text,
            completion=completion,
            tools=tools,
            content=text,
            usage=usage,
            cost=cost,
        )
        return
    lifecycle.finish(message, content=text, cost=cost, **usage)


# What a trace keeps of the prompt sent: all of it up to this size, then the start of each message.
PROMPT_RECORD_CHARS = 64_000
PROMPT_MESSAGE_CHARS = 4_000


def prompt_record(messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> dict[str, Any]:
    """The messages exactly as sent to the model (and the tools' names), for people reading a trace."""
    names = [tool.get("function", {}).get("name", "") for tool in tools or []]
    if len(json.dumps(messages, ensure_ascii=False)) <= PROMPT_RECORD_CHARS:
        return {"messages": messages, "tools": names, "truncated": False}
    shortened = []
    for entry in messages:
        content = entry.get("content")
        if isinstance(content, str) and len(content) > PROMPT_MESSAGE_CHARS:
            entry = {**entry, "content": content[:PROMPT_MESSAGE_CHARS] + f" … [{len(content):,} characters]"}
        shortened.append(entry)
    return {"messages": shortened, "tools": names, "truncated": True}


def _estimated_tokens(messages: list[dict[str, Any]]) -> int:
    total = 0
    for entry in messages:
        content = entry.get("content")
        total += 4 + count_tokens(
            content if isinstance(content, str) else json.dumps(content or "", ensure_ascii=False)
        )
        if entry.get("tool_calls"):
            total += count_tokens(json.dumps(entry["tool_calls"], ensure_ascii=False))
    return total


# -- tools --------------------------------------------------------------------------------------------


def _tools_for(message: Message, config: BotConfig) -> list:
    operation_ids = config.actions.operation_ids
    if not operation_ids:
        return []
    return tools_for_operations(workspace_id=message.workspace_id, operation_ids=operation_ids)


def _parse_arguments(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw or "{}")
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _begin_tool_round(
    message: Message, *, step: int, text: str, completion, tools: list, content: str, usage: dict[str, int], cost
) -> None:
    by_name = {tool.name: tool for tool in tools}
    assistant_turn = {
        "role": "assistant",
        "content": text or None,
        "tool_calls": [
            {"id": call.call_id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}
            for call in completion.tool_calls
        ],
    }
    unrunnable = _unrunnable_consequential_calls(message, completion.tool_calls, by_name)
    created: list[ToolCall] = []
    with transaction.atomic():
        locked = Message.objects.select_for_update().get(pk=message.pk)
        if locked.step != step or locked.is_finished:
            return
        for call in completion.tool_calls:
            tool = by_name.get(call.name)
            tool_call, _ = ToolCall.objects.get_or_create(
                message=locked,
                call_id=call.call_id,
                defaults={
                    "workspace_id": locked.workspace_id,
                    "step": step,
                    "name": call.name[:64],
                    "operation_id": tool.operation_id if tool else "",
                    "raw_arguments": call.arguments,
                    "arguments": _parse_arguments(call.arguments),
                    "consequential": bool(tool and tool.consequential),
                },
            )
            created.append(tool_call)
        refused = [tc for tc in created if tc.call_id in unrunnable and tc.state == ToolCallState.PENDING]
        for tool_call in refused:
            # Settled at once, without asking anybody: the model learns what to correct.
            outcome = unrunnable[tool_call.call_id]
            tool_rounds.settle_tool_call(
                tool_call,
                ToolCallState.FAILED,
                content=outcome.content,
                error=outcome.error or "invalid_arguments",
                duration_ms=outcome.duration_ms,
            )
        needs_confirmation = [tc for tc in created if tc.consequential and tc.state == ToolCallState.PENDING]
        for tool_call in needs_confirmation:
            lifecycle.move_tool_call(tool_call, ToolCallState.AWAITING_CONFIRMATION)
        lifecycle.move(
            message,
            MessageState.AWAITING_CONFIRMATION if needs_confirmation else MessageState.RUNNING,
            trace=[*message.trace, *(tool_rounds.tool_trace(tc, unrunnable[tc.call_id].trace) for tc in refused)],
            tool_rounds=[*locked.tool_rounds, {"assistant": assistant_turn, "results": []}],
            step=step + 1,
            content=content,
            cost=cost,
            input_tokens=usage["input_tokens"],
            output_tokens=usage["output_tokens"],
        )
        runnable = [tc.pk for tc in created if tc.state == ToolCallState.PENDING]
        lifecycle.schedule_next(message.pk, Ended.TOOL_ROUND_BEGUN, tool_call_ids=runnable)
    for tool_call in created:
        events.emit(message.pk, events.ToolCallRequested.of(tool_call))
    for tool_call in refused:
        events.emit(message.pk, events.ToolResult.of(tool_call))
    for tool_call in needs_confirmation:
        events.emit(message.pk, events.ToolConfirmationRequired.of(tool_call))
    if not tool_rounds.runnable_exists(created):
        tool_rounds.continue_when_settled(message.pk)


def _unrunnable_consequential_calls(message: Message, calls: list, by_name: dict) -> dict[str, Any]:
    """call id -> outcome, for consequential calls that could not run as the model wrote them.

    A person is asked to approve only calls that can actually be sent: approving a call whose
    arguments are wrong would only lead to a second question once the model corrected them.
    """
    refused = {}
    for call in calls:
        tool = by_name.get(call.name)
        if tool is None or not tool.consequential:
            continue
        outcome = check_tool_call(
            workspace_id=message.workspace_id, operation_id=tool.operation_id, arguments_json=call.arguments
        )
        if outcome is not None:
            refused[call.call_id] = outcome
    return refused


def tool_call_execute(*, tool_call_id: str) -> None:
    """Run one tool call (idempotently) and, if it was the round's last, continue the turn."""
    tool_call = one_or_none(ToolCall.objects.select_related("message").filter(pk=tool_call_id))
    if tool_call is None or tool_call.state not in (ToolCallState.PENDING, ToolCallState.RUNNING):
        if tool_call is not None:
            tool_rounds.continue_when_settled(tool_call.message_id)
        return
    if tool_call.state == ToolCallState.RUNNING and tool_call.consequential:
        # An earlier attempt died mid-call: it may have had its effect, so it is not repeated.
        tool_rounds.record_tool_result(
            tool_call,
            ToolCallState.FAILED,
            error="interrupted",
            duration_ms=None,
            content="The action was interrupted and was not retried, because repeating it could do it twice. "
            "Ask the user whether to try again.",
        )
        tool_rounds.continue_when_settled(tool_call.message_id)
        return
    if tool_call.state == ToolCallState.PENDING:  # a redelivered read-only call simply runs again
        lifecycle.move_tool_call(tool_call, ToolCallState.RUNNING)
    started = time.perf_counter()
    if not tool_call.operation_id:
        content = json.dumps({"error": f"Unknown tool {tool_call.name!r}. Use one of the tools provided."})
        tool_rounds.record_tool_result(
            tool_call,
            ToolCallState.FAILED,
            content=content,
            error="unknown_tool",
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
        )
    else:
        release_pooled_connections()  # a target API may take seconds; nothing is read meanwhile
        outcome = invoke_tool(
            workspace_id=tool_call.workspace_id,
            operation_id=tool_call.operation_id,
            arguments_json=tool_call.raw_arguments or json.dumps(tool_call.arguments),
        )
        tool_rounds.record_tool_result(
            tool_call,
            ToolCallState.COMPLETED if outcome.ok else ToolCallState.FAILED,
            content=outcome.content,
            error=outcome.error or "",
            duration_ms=outcome.duration_ms,
            trace=outcome.trace,
        )
    tool_rounds.continue_when_settled(tool_call.message_id)

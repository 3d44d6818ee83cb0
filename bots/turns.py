"""Accepting a chat turn (web side) and controlling a running one (stop, confirm, rate).

Accepting is the hot path: validate, store the user message and a queued assistant message in
one transaction, enqueue the turn once it commits, and return. No model call, no retrieval, no
title generation happens here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Workspace
from bots import budgets, events, lifecycle, tool_rounds
from bots.budgets import BudgetStatus
from bots.config import BotConfig
from bots.lifecycle import Ended
from bots.models import Bot, Channel, Conversation, Message, MessageState, ToolCall, ToolCallState
from bots.prompting import VariableError, resolve_inputs
from bots.selectors import turn_config
from providers.models import ModelKind, ProviderModel
from switchboard.errors import Conflict, InvalidInput, NotFound, TooLarge
from switchboard.queries import PreparedQuery, insert_in_one_statement, one_or_none


@dataclass(frozen=True)
class AcceptedTurn:
    conversation: Conversation
    user_message: Message
    assistant_message: Message
    # Budgets this turn falls under that are 80 % used or more (bots.budgets): the caller is told.
    budget_warnings: list[BudgetStatus] = field(default_factory=list)


def _choose_version(bot: Bot, *, use_draft: bool) -> int | None:
    if use_draft:
        return None
    if bot.published_version_id is None:
        raise Conflict(
            f"Bot {bot.slug!r} is not published yet: publish it (POST /api/v1/bots/{bot.pk}/publish) "
            'or send "version": "draft" to talk to the draft.',
            code="bot_not_published",
            param="version",
        )
    return bot.published_version.number


# Every turn runs this lookup: compiled once (switchboard.queries.PreparedQuery).
_CHAT_MODEL = PreparedQuery(
    lambda workspace_id, model_id: (
        ProviderModel.objects.for_workspace(workspace_id)
        .select_related("provider")
        .filter(pk=model_id, kind=ModelKind.CHAT)
        .order_by()[:1]
    ),
    parameters=["workspace_id", "model_id"],
)


def _check_model(workspace: Workspace, config: BotConfig, bot: Bot) -> ProviderModel:
    model_id = config.model.provider_model_id
    model = _CHAT_MODEL.one_or_none(workspace_id=workspace.pk, model_id=model_id) if model_id else None
    if model is None:
        raise Conflict(
            f"Bot {bot.slug!r} has no chat model configured. Add a model provider under Model "
            "providers, then choose one of its chat models in the bot's settings "
            "(config.model.provider_model_id).",
            code="model_not_configured",
        )
    if not model.is_enabled or not model.provider.is_enabled:
        raise Conflict(
            f"Bot {bot.slug!r} uses {model.model} on provider {model.provider.name!r}, which is "
            "disabled. Enable it or choose another model.",
            code="model_disabled",
        )
    return model


def _check_text(text: Any) -> str:
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput("The message is empty.", code="empty_message", param="message")
    if len(text) > settings.MAX_MESSAGE_CHARS:
        raise TooLarge(
            f"The message has {len(text):,} characters; the limit is {settings.MAX_MESSAGE_CHARS:,}.",
            code="message_too_long",
            param="message",
        )
    return text


def turn_accept(
    *,
    workspace: Workspace,
    bot: Bot,
    text: Any,
    inputs: dict[str, Any] | None = None,
    conversation_id: str | None = None,
    end_user: str = "",
    channel: str = Channel.API,
    use_draft: bool = False,
    history: list[dict[str, str]] | None = None,
    visitor_id: str = "",
    end_user_verified: bool = False,
    end_user_name: str = "",
    api_key_id: str | None = None,
) -> AcceptedTurn:
    """Validate and store a new turn, then enqueue it. Raises a DomainError; writes nothing on error.

    `history` (OpenAI-compatible API) is the client's own record of the earlier messages: it is
    stored as the conversation's first messages so memory and traces work the same way.
    `visitor_id`, `end_user_verified` and `end_user_name` describe a widget visitor (bots.widget);
    `api_key_id` names the key that sent the turn, for its budget. A used-up budget refuses the turn.
    """
    text = _check_text(text)
    if inputs is not None and not isinstance(inputs, dict):
        raise InvalidInput("inputs must be an object of variable values.", code="invalid_inputs", param="inputs")
    conversation = None
    if conversation_id:
        conversation = one_or_none(Conversation.objects.for_workspace(workspace).filter(pk=conversation_id))
        if conversation is None:
            raise NotFound(
                f"No conversation {conversation_id!r} in this workspace.",
                code="conversation_not_found",
                param="conversation_id",
            )
        if conversation.bot_id != bot.pk:
            raise Conflict(
                f"Conversation {conversation_id!r} belongs to another bot.",
                code="conversation_bot_mismatch",
                param="conversation_id",
            )
        version_number = conversation.version_number
    else:
        version_number = _choose_version(bot, use_draft=use_draft)
    config = turn_config(bot, version_number)
    provider_model = _check_model(workspace, config, bot)
    merged_inputs = {**(conversation.inputs if conversation else {}), **(inputs or {})}
    try:
        resolved = resolve_inputs(config.variables, merged_inputs)
    except VariableError as exc:
        raise InvalidInput(exc.message, code=exc.code, param=exc.param) from exc
    warnings = budgets.check_turn(bot=bot, api_key_id=api_key_id)

    new_conversation = conversation is None
    if conversation is None:
        conversation = Conversation(
            workspace=workspace,
            bot=bot,
            end_user=end_user[:255],
            channel=channel,
            visitor_id=visitor_id,
            end_user_verified=end_user_verified,
            end_user_name=end_user_name[:120],
            inputs=resolved,
            version_number=version_number,
            title=text.strip()[:80],
        )
    # The client's history (a new conversation only), the user's message and the queued reply, in
    # order: created_at steps by a microsecond so the order holds whatever the clock's resolution.
    base_time = timezone.now()
    messages = [
        Message(
            workspace=workspace,
            conversation=conversation,
            role=earlier["role"],
            content=earlier["content"],
            state=MessageState.COMPLETED,
        )
        for earlier in (history or [] if new_conversation else [])
    ]
    user_message = Message(
        workspace=workspace, conversation=conversation, role="user", content=text, state=MessageState.COMPLETED
    )
    assistant = Message(
        workspace=workspace,
        conversation=conversation,
        role="assistant",
        state=MessageState.QUEUED,
        reply_to=user_message,
        model=provider_model.model,
        provider_model=provider_model,
        api_key_id=api_key_id,
    )
    messages += [user_message, assistant]
    for position, message in enumerate(messages):
        message.created_at = base_time + timedelta(microseconds=position)

    if new_conversation:
        # One statement, atomic by itself: no BEGIN and COMMIT round trips on the way to the model.
        insert_in_one_statement([conversation], messages)
    elif resolved != conversation.inputs:
        with transaction.atomic():
            conversation.inputs = resolved
            conversation.save(update_fields=["inputs", "updated_at"])
            Message.objects.bulk_create(messages)
    else:
        Message.objects.bulk_create(messages)
    # At once outside a transaction; when the caller holds one, once it commits.
    transaction.on_commit(lambda: _start_turn(assistant, config))
    return AcceptedTurn(conversation, user_message, assistant, warnings)


def _start_turn(assistant: Message, config: BotConfig) -> None:
    # message.start goes into the stream before the task exists, so it is always the first event
    # and a client learns the ids at once, whatever the queue is doing.
    events.emit(
        assistant.pk,
        events.MessageStart(
            conversation_id=assistant.conversation_id, user_message_id=assistant.reply_to_id, model=assistant.model
        ),
    )
    lifecycle.schedule_next(assistant.pk, Ended.ACCEPTED, retrieve=bool(config.knowledge.knowledge_base_ids))


def turn_stop(*, message: Message) -> Message:
    """Cancel a turn. A queued turn ends at once; a running one stops within a quarter second (even
    while its model is silent, see bots.steps) and keeps the text produced so far, marked cancelled."""
    if message.is_finished:
        raise Conflict(f"Message {message.pk} already ended ({message.state}).", code="turn_already_finished")
    events.request_cancel(message.pk)
    with transaction.atomic():
        locked = Message.objects.select_for_update().get(pk=message.pk)
        if locked.state in (MessageState.QUEUED, MessageState.AWAITING_CONFIRMATION):
            lifecycle.cancel(locked)
    message.refresh_from_db()
    return message


def turn_feedback(*, message: Message, rating: int | None, comment: str = "") -> Message:
    if message.role != "assistant":
        raise Conflict("Feedback applies to assistant messages.", code="invalid_message")
    message.rating = rating
    message.feedback = comment[:4000]
    message.save(update_fields=["rating", "feedback", "updated_at"])
    return message


def tool_call_decide(*, tool_call: ToolCall, approve: bool) -> ToolCall:
    """The user's answer to a consequential call."""
    with transaction.atomic():
        locked = ToolCall.objects.select_for_update().get(pk=tool_call.pk)
        if locked.state != ToolCallState.AWAITING_CONFIRMATION:
            raise Conflict(
                f"Tool call {locked.call_id} is not waiting for confirmation (it is {locked.state}).",
                code="not_awaiting_confirmation",
                param="tool_call_id",
            )
        if approve:
            lifecycle.move_tool_call(locked, ToolCallState.PENDING)
            lifecycle.schedule_next(locked.message_id, Ended.CONFIRMED, tool_call_ids=[locked.pk])
    if not approve:
        tool_rounds.record_tool_result(
            locked,
            ToolCallState.DENIED,
            content=json.dumps(
                {"error": "The user denied this action. Do not retry it; tell the user it was not done."}
            ),
            error="denied_by_user",
            duration_ms=None,
        )
        tool_rounds.continue_when_settled(locked.message_id)
    locked.refresh_from_db()
    return locked

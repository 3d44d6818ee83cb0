"""Reads for the widget: a bot's widget by public id, its public face, a visitor's conversations."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import QuerySet

from bots.models import Bot, BotWidget, Channel, Conversation, Message, WidgetDefaults
from bots.selectors import turn_config
from bots.widget.access import Session
from bots.widget.limits import Limits
from switchboard.errors import NotFound
from switchboard.queries import one_or_none

WIDGET_CHANNELS = (Channel.WIDGET, Channel.SHARE)


def widget_for_bot(*, bot: Bot) -> BotWidget:
    """The bot's widget settings, made with safe defaults the first time they are asked for."""
    widget = BotWidget.objects.filter(bot=bot).first()
    if widget is None:
        widget, _ = BotWidget.objects.get_or_create(bot=bot, defaults={"workspace_id": bot.workspace_id})
    return widget


def serving_widget(public_id: str) -> BotWidget:
    """The widget of a published bot that serves visitors; NotFound (one message for all three
    cases, so a probe learns nothing) when it is unknown, unpublished or switched off."""
    widget = (
        BotWidget.objects.select_related("bot", "bot__published_version", "workspace")
        .filter(public_id=public_id)
        .first()
        if isinstance(public_id, str) and len(public_id) <= 40
        else None
    )
    if widget is None or not widget.enabled or widget.bot.published_version_id is None:
        raise NotFound(
            "This chat is not available: the bot does not exist, is not published, or its widget is switched off.",
            code="bot_not_found",
        )
    return widget


def limits_of(widget: BotWidget) -> Limits:
    defaults = WidgetDefaults.objects.filter(workspace_id=widget.workspace_id).first() or WidgetDefaults()
    return Limits(
        visitor_per_minute=widget.visitor_messages_per_minute or defaults.visitor_messages_per_minute,
        ip_per_minute=widget.ip_messages_per_minute or defaults.ip_messages_per_minute,
        daily_cap=widget.daily_message_cap or defaults.daily_message_cap,
    )


def public_face(widget: BotWidget) -> dict[str, Any]:
    """What a visitor may see of the bot: name, avatar, opening message, starters, the variables
    a host page may set. Never the prompt, the model, the secret or the allowed origins."""
    bot = widget.bot
    version = bot.published_version
    config = turn_config(bot, version.number if version is not None else None)
    return {
        "public_id": widget.public_id,
        "name": bot.name,
        "avatar": bot.avatar,
        "opening_message": config.opening_message,
        "starter_questions": list(config.starter_questions),
        "variables": [
            {
                "name": variable.get("name"),
                "type": variable.get("type", "string"),
                "required": bool(variable.get("required")),
                "options": list(variable.get("options") or []),
                "default": variable.get("default"),
                "description": variable.get("description", ""),
            }
            for variable in config.variables
        ],
    }


def _own_conversations(*, widget: BotWidget, session: Session) -> QuerySet[Conversation]:
    """The conversations this session's visitor started with this bot (the widget or its share page)."""
    return Conversation.objects.filter(
        workspace_id=widget.workspace_id,
        bot_id=widget.bot_id,
        visitor_id=session.visitor_id,
        channel__in=WIDGET_CHANNELS,
    )


def visitor_conversations(*, widget: BotWidget, session: Session) -> QuerySet[Conversation]:
    return _own_conversations(widget=widget, session=session).order_by("-updated_at")[: settings.WIDGET_HISTORY_LIMIT]


def visitor_conversation(*, widget: BotWidget, session: Session, conversation_id: str) -> Conversation:
    """The visitor's own conversation; NotFound for anyone else's (the same answer as no such id)."""
    conversation = (
        one_or_none(_own_conversations(widget=widget, session=session).filter(pk=conversation_id))
        if isinstance(conversation_id, str)
        else None
    )
    if conversation is None:
        raise NotFound(
            f"No conversation {conversation_id!r} for this visitor.",
            code="conversation_not_found",
            param="conversation_id",
        )
    return conversation


def visitor_message(*, widget: BotWidget, session: Session, message_id: str) -> Message:
    message = one_or_none(
        Message.objects.filter(
            workspace_id=widget.workspace_id,
            conversation__in=_own_conversations(widget=widget, session=session),
            pk=message_id,
        ).select_related("conversation")
    )
    if message is None:
        raise NotFound(f"No message {message_id!r} for this visitor.", code="message_not_found")
    return message

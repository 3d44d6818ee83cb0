"""Reads for bots."""

from __future__ import annotations

from bots.config import BotConfig, normalise
from bots.models import Bot
from switchboard.errors import NotFound
from switchboard.queries import PreparedQuery, one_or_none

# The chat routes look their bot up on every turn: compiled once (switchboard.queries).
_CHAT_BOT_BY_ID = PreparedQuery(
    lambda workspace_id, bot_id: (
        Bot.objects.filter(workspace_id=workspace_id, pk=bot_id).select_related("published_version").order_by()[:1]
    ),
    parameters=["workspace_id", "bot_id"],
)
_CHAT_BOT_BY_SLUG = PreparedQuery(
    lambda workspace_id, slug: (
        Bot.objects.filter(workspace_id=workspace_id, slug=slug).select_related("published_version").order_by()[:1]
    ),
    parameters=["workspace_id", "slug"],
)


def chat_bot(*, workspace_id: str, bot_id: str | None = None, slug: str | None = None) -> Bot | None:
    """The workspace's bot with this id or slug, its published version joined, or None."""
    if bot_id is not None:
        return _CHAT_BOT_BY_ID.one_or_none(workspace_id=workspace_id, bot_id=bot_id)
    return _CHAT_BOT_BY_SLUG.one_or_none(workspace_id=workspace_id, slug=slug or "")


def bot_warnings(*, bot: Bot) -> list[dict[str, str]]:
    """What would go wrong when the draft is served, without refusing to save it."""
    config = normalise(bot.config)
    operation_ids = config["actions"]["operation_ids"]
    if not operation_ids:
        return []
    from actions.tools import tool_warnings

    return [
        {"code": w.code, "message": w.message}
        for w in tool_warnings(workspace_id=bot.workspace_id, operation_ids=operation_ids)
    ]


def turn_config(bot: Bot, version_number: int | None) -> BotConfig:
    """The configuration a conversation runs on: a published version's, or the draft's (None)."""
    if version_number is None:
        return BotConfig.load(bot.config)
    published = bot.published_version  # None without a query when nothing is published
    if published is not None and published.number == version_number:
        return BotConfig.load(published.config)
    version = one_or_none(bot.versions.filter(number=version_number))
    if version is None:
        raise NotFound(f"Bot {bot.slug!r} has no version {version_number}.", code="not_found")
    return BotConfig.load(version.config)

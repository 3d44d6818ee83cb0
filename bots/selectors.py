"""Reads for bots."""

from __future__ import annotations

from bots.config import BotConfig, normalise
from bots.models import Bot
from switchboard.errors import NotFound
from switchboard.queries import one_or_none


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

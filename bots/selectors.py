"""Reads for bots."""

from __future__ import annotations

from bots.config import normalise
from bots.models import Bot


def bot_warnings(*, bot: Bot) -> list[dict[str, str]]:
    """What would go wrong when the draft is served, without refusing to save it."""
    config = normalise(bot.config)
    operation_ids = config["actions"]["operation_ids"]
    if not operation_ids:
        return []
    from actions.tools import tool_warnings

    return [{"code": w.code, "message": w.message}
            for w in tool_warnings(workspace_id=bot.workspace_id, operation_ids=operation_ids)]

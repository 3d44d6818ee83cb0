"""Writes for bots, their versions and their conversations."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils.text import slugify
from django.utils.translation import gettext as _

from accounts.models import AuditAction, User, Workspace
from accounts.services import audit_record
from bots.config import normalise, validate_config
from bots.models import Bot, BotVersion, Conversation
from switchboard.errors import Conflict, InvalidInput, NotFound


def _unique_slug(workspace: Workspace, base: str, *, exclude_id: str | None = None) -> str:
    base = (slugify(base) or "bot")[:56]
    slug, n = base, 2
    while Bot.objects.for_workspace(workspace).filter(slug=slug).exclude(pk=exclude_id).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def _check_references(workspace: Workspace, config: dict[str, Any]) -> None:
    """Ids in a config must name this workspace's objects."""
    from providers.models import ModelKind, ProviderModel

    model_id = config["model"].get("provider_model_id")
    if (
        model_id
        and not ProviderModel.objects.for_workspace(workspace).filter(pk=model_id, kind=ModelKind.CHAT).exists()
    ):
        raise InvalidInput(
            f"No chat model {model_id!r} in this workspace. List them with GET /api/v1/models/?kind=chat.",
            code="unknown_model",
            param="config.model.provider_model_id",
        )
    base_ids = config["knowledge"]["knowledge_base_ids"]
    if base_ids:
        from knowledge.selectors import knowledge_bases_for_workspace

        found = {kb.pk for kb in knowledge_bases_for_workspace(workspace.pk, base_ids)}
        missing = [i for i in base_ids if i not in found]
        if missing:
            raise InvalidInput(
                f"No knowledge base {missing[0]!r} in this workspace.",
                code="unknown_knowledge_base",
                param="config.knowledge.knowledge_base_ids",
            )
    _check_operations(workspace, config["actions"]["operation_ids"])


def _check_operations(workspace: Workspace, operation_ids: list[str]) -> None:
    """Operation ids must name this workspace's operations. A disabled one is accepted: it is the
    owner's to re-enable, and the bot's warnings say it is not offered to the model meanwhile."""
    if not operation_ids:
        return
    from actions.models import Operation

    found = set(Operation.objects.for_workspace(workspace).filter(pk__in=operation_ids).values_list("pk", flat=True))
    missing = [op_id for op_id in operation_ids if op_id not in found]
    if missing:
        raise InvalidInput(
            f"No action operation {missing[0]!r} in this workspace. List them with "
            "GET /api/v1/actions/{id}/operations.",
            code="unknown_operation",
            param="config.actions.operation_ids",
        )


@transaction.atomic
def bot_create(
    *,
    workspace: Workspace,
    name: str,
    slug: str = "",
    description: str = "",
    avatar: str = "",
    config: dict[str, Any] | None = None,
    created_by: User | None = None,
) -> Bot:
    name = name.strip()
    if not name:
        raise InvalidInput(_("Give the bot a name."), code="required", param="name")
    validated = validate_config(config or {}, partial_base={})
    _check_references(workspace, validated)
    if slug and Bot.objects.for_workspace(workspace).filter(slug=slug).exists():
        raise Conflict(
            _("The slug %(slug)s is taken in this workspace.") % {"slug": repr(slug)},
            code="duplicate_slug",
            param="slug",
        )
    try:
        return Bot.objects.create(
            workspace=workspace,
            name=name,
            slug=slug or _unique_slug(workspace, name),
            description=description,
            avatar=avatar,
            config=validated,
            created_by=created_by,
        )
    except IntegrityError as exc:
        raise Conflict(_("The slug is taken in this workspace."), code="duplicate_slug", param="slug") from exc


@transaction.atomic
def bot_update(
    *,
    bot: Bot,
    name: str | None = None,
    slug: str | None = None,
    description: str | None = None,
    avatar: str | None = None,
    config: dict[str, Any] | None = None,
) -> Bot:
    """Update the draft. `config` is merged over the current draft section by section."""
    if name is not None:
        if not name.strip():
            raise InvalidInput(_("The name cannot be empty."), code="required", param="name")
        bot.name = name.strip()
    if slug is not None and slug != bot.slug:
        if Bot.objects.for_workspace(bot.workspace_id).filter(slug=slug).exclude(pk=bot.pk).exists():
            raise Conflict(
                _("The slug %(slug)s is taken in this workspace.") % {"slug": repr(slug)},
                code="duplicate_slug",
                param="slug",
            )
        bot.slug = slug
    if description is not None:
        bot.description = description
    if avatar is not None:
        bot.avatar = avatar
    if config is not None:
        validated = validate_config(config, partial_base=bot.config)
        _check_references(bot.workspace, validated)
        bot.config = validated
    bot.save()
    return bot


@transaction.atomic
def bot_publish(*, bot: Bot, note: str = "", published_by: User | None = None) -> BotVersion:
    """Snapshot the draft as the next version and make it the one public channels serve."""
    bot = Bot.objects.select_for_update().get(pk=bot.pk)
    config = validate_config(bot.config, partial_base={})
    _check_references(bot.workspace, config)
    if not config["model"].get("provider_model_id"):
        raise Conflict(
            "Choose a chat model before publishing (config.model.provider_model_id).",
            code="model_not_configured",
            param="config.model.provider_model_id",
        )
    number = (bot.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    version = BotVersion.objects.create(bot=bot, number=number, config=config, note=note[:200], created_by=published_by)
    bot.published_version = version
    bot.save(update_fields=["published_version", "updated_at"])
    audit_record(workspace=bot.workspace, action=AuditAction.BOT_PUBLISH, target=bot, details={"version": number})
    return version


@transaction.atomic
def bot_restore_version(*, bot: Bot, number: int) -> Bot:
    """Copy a version's configuration into the draft (publish again to serve it)."""
    version = bot.versions.filter(number=number).first()
    if version is None:
        raise NotFound(f"Bot {bot.slug!r} has no version {number}.", code="not_found")
    bot.config = normalise(version.config)
    bot.save(update_fields=["config", "updated_at"])
    return bot


@transaction.atomic
def bot_delete(*, bot: Bot) -> None:
    """Delete a bot with its versions and conversations (their messages and tool calls go too)."""
    audit_record(workspace=bot.workspace, action=AuditAction.BOT_DELETE, target=bot)
    bot.delete()


@transaction.atomic
def conversation_delete(*, conversation: Conversation) -> None:
    """Delete a conversation with its messages and tool calls."""
    conversation.delete()

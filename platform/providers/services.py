"""Writes for providers and their model catalogue."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import AuditAction, Workspace
from accounts.services import audit_record
from providers import catalogue, clients
from providers.models import ModelKind, Provider, ProviderKind, ProviderModel
from switchboard.errors import Conflict, InvalidInput
from switchboard.vault import SecretValue

_UNSET = object()


def _secret(api_key: str) -> SecretValue | None:
    api_key = api_key.strip()
    return SecretValue(api_key) if api_key else None


def _validate_endpoint(*, kind: str, base_url: str, api_version: str) -> None:
    if kind not in ProviderKind.values:
        raise InvalidInput(
            f"Unknown provider kind {kind!r}; use one of {', '.join(ProviderKind.values)}.",
            code="invalid_kind",
            param="kind",
        )
    if base_url:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidInput(
                "base_url must be an http(s) URL such as http://localhost:11434/v1.",
                code="invalid_url",
                param="base_url",
            )
        if parts.username or parts.password:
            raise InvalidInput("Put the API key in api_key, not in the URL.", code="invalid_url", param="base_url")
    if kind in (ProviderKind.OPENAI_COMPATIBLE, ProviderKind.AZURE_OPENAI) and not base_url:
        example = (
            "https://<resource>.openai.azure.com" if kind == ProviderKind.AZURE_OPENAI else "http://localhost:11434/v1"
        )
        raise InvalidInput(
            f"base_url is required for this kind of provider, e.g. {example}.", code="required", param="base_url"
        )
    if kind == ProviderKind.AZURE_OPENAI and not api_version:
        raise InvalidInput(
            "api_version is required for Azure OpenAI, e.g. 2024-10-21.", code="required", param="api_version"
        )


def _validate_name(*, workspace: Workspace, name: str, exclude_id: str | None = None) -> str:
    name = name.strip()
    if not name:
        raise InvalidInput(_("Give the provider a name."), code="required", param="name")
    clash = Provider.objects.for_workspace(workspace).filter(name=name).exclude(pk=exclude_id)
    if clash.exists():
        raise Conflict(
            _("A provider named %(name)s already exists in this workspace.") % {"name": repr(name)},
            code="duplicate_name",
            param="name",
        )
    return name


@transaction.atomic
def provider_create(
    *,
    workspace: Workspace,
    name: str,
    kind: str,
    base_url: str = "",
    api_key: str = "",
    api_version: str = "",
    timeout_seconds: int = 60,
) -> Provider:
    base_url = base_url.strip().rstrip("/")
    _validate_endpoint(kind=kind, base_url=base_url, api_version=api_version)
    provider = Provider.objects.create(
        workspace=workspace,
        name=_validate_name(workspace=workspace, name=name),
        kind=kind,
        base_url=base_url,
        api_key=_secret(api_key),
        api_version=api_version.strip(),
        timeout_seconds=timeout_seconds,
    )
    audit_record(
        workspace=workspace, action=AuditAction.PROVIDER_CREATE, target=provider, details={"api_key_set": bool(api_key)}
    )
    return provider


@transaction.atomic
def provider_update(
    *,
    provider: Provider,
    name: str | None = None,
    kind: str | None = None,
    base_url: str | None = None,
    api_key=_UNSET,
    api_version: str | None = None,
    timeout_seconds: int | None = None,
    is_enabled: bool | None = None,
) -> Provider:
    """Update given fields. `api_key`: omitted keeps the stored key, "" removes it.

    Validation happens before anything is written, so a rejected update changes nothing. A change
    to where or how the provider is reached clears the last connection test, which no longer
    says anything about the new settings.
    """
    before = (provider.kind, provider.base_url, provider.api_version, provider.api_key)
    if name is not None:
        provider.name = _validate_name(workspace=provider.workspace, name=name, exclude_id=provider.pk)
    if kind is not None:
        provider.kind = kind
    if base_url is not None:
        provider.base_url = base_url.strip().rstrip("/")
    if api_version is not None:
        provider.api_version = api_version.strip()
    _validate_endpoint(kind=provider.kind, base_url=provider.base_url, api_version=provider.api_version)
    if api_key is not _UNSET:
        provider.api_key = _secret(api_key or "")
    if timeout_seconds is not None:
        provider.timeout_seconds = timeout_seconds
    if is_enabled is not None:
        provider.is_enabled = is_enabled
    if (provider.kind, provider.base_url, provider.api_version, provider.api_key) != before:
        provider.last_tested_at = None
        provider.last_test_ok = None
        provider.last_test_message = ""
    provider.save()
    audit_record(
        workspace=provider.workspace,
        action=AuditAction.PROVIDER_UPDATE,
        target=provider,
        details={"api_key_changed": api_key is not _UNSET},
    )
    return provider


@transaction.atomic
def provider_delete(*, provider: Provider) -> None:
    """Delete the provider and its model catalogue."""
    audit_record(workspace=provider.workspace, action=AuditAction.PROVIDER_DELETE, target=provider)
    try:
        provider.delete()
    except ProtectedError as exc:
        raise Conflict(
            _("%(name)s is still used (%(users)s); switch those to another model first.")
            % {"name": provider.name, "users": _users(exc)},
            code="provider_in_use",
        ) from exc


def _users(exc: ProtectedError) -> str:
    names = sorted({f"{obj._meta.verbose_name} {obj}" for obj in exc.protected_objects})
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


# Some gateways list thousands of models; the picker offers the first ones alphabetically.
MAX_LISTED_MODELS = 2000


def provider_test(*, provider: Provider) -> clients.ConnectionTest:
    """Check the connection and record the outcome on the provider (also when it fails)."""
    result = clients.check_connection(provider)
    api_key = provider.api_key
    if api_key is not None and len(api_key.reveal()) >= 8 and api_key.reveal() in result.message:
        # A server may echo what it was sent in an error; the message is stored and shown.
        result = replace(result, message=result.message.replace(api_key.reveal(), api_key.hint))
    provider.last_tested_at = timezone.now()
    provider.last_test_ok = result.ok
    provider.last_test_message = result.message
    # Not save(): that would bump updated_at and with it the cached SDK client.
    changes: dict[str, Any] = {
        "last_tested_at": provider.last_tested_at,
        "last_test_ok": result.ok,
        "last_test_message": result.message,
    }
    if result.ok:
        provider.listed_models = changes["listed_models"] = result.models[:MAX_LISTED_MODELS]
    Provider.objects.filter(pk=provider.pk).update(**changes)
    return result


def _validate_model_kind(kind: str) -> None:
    if kind not in ModelKind.values:
        raise InvalidInput(
            f"Unknown model kind {kind!r}; use one of {', '.join(ModelKind.values)}.", code="invalid_kind", param="kind"
        )


@transaction.atomic
def provider_model_create(
    *,
    provider: Provider,
    model: str,
    kind: str = ModelKind.CHAT,
    display_name: str = "",
    context_window: int | None = None,
    max_output_tokens: int | None = None,
    embedding_dimensions: int | None = None,
    input_price_per_million: Decimal | None = None,
    output_price_per_million: Decimal | None = None,
    supports_tools: bool = True,
    supports_json_mode: bool = True,
) -> ProviderModel:
    """Add a model; what is not given is filled from the catalogue of well-known models."""
    model = model.strip()
    if not model:
        raise InvalidInput(
            "model is required: the provider's model id (the deployment name on Azure).", code="required", param="model"
        )
    _validate_model_kind(kind)
    _ensure_not_listed(provider=provider, model=model, kind=kind)
    known = catalogue.lookup(model)
    if known is not None and known.kind != kind:
        known = None
    if kind == ModelKind.EMBEDDING and not embedding_dimensions and not (known and known.embedding_dimensions):
        raise InvalidInput(
            "embedding_dimensions is required for an embedding model the catalogue does not know.",
            code="required",
            param="embedding_dimensions",
        )
    return ProviderModel.objects.create(
        workspace=provider.workspace,
        provider=provider,
        model=model,
        kind=kind,
        display_name=display_name,
        context_window=context_window or (known.context_window if known else None),
        max_output_tokens=max_output_tokens or (known.max_output_tokens if known else None),
        embedding_dimensions=embedding_dimensions or (known.embedding_dimensions if known else None),
        input_price_per_million=input_price_per_million
        if input_price_per_million is not None
        else (known.input_price if known else Decimal("0")),
        output_price_per_million=output_price_per_million
        if output_price_per_million is not None
        else (known.output_price if known else Decimal("0")),
        supports_tools=supports_tools,
        supports_json_mode=supports_json_mode,
    )


def _ensure_not_listed(*, provider: Provider, model: str, kind: str, exclude_id: str | None = None) -> None:
    clash = ProviderModel.objects.filter(provider=provider, model=model, kind=kind).exclude(pk=exclude_id)
    if clash.exists():
        raise Conflict(
            _("%(model)s (%(kind)s) is already in this provider's catalogue.") % {"model": model, "kind": kind},
            code="duplicate_model",
            param="model",
        )


@transaction.atomic
def provider_model_update(
    *,
    provider_model: ProviderModel,
    model: str | None = None,
    kind: str | None = None,
    display_name: str | None = None,
    context_window=_UNSET,
    max_output_tokens=_UNSET,
    embedding_dimensions=_UNSET,
    input_price_per_million: Decimal | None = None,
    output_price_per_million: Decimal | None = None,
    supports_tools: bool | None = None,
    supports_json_mode: bool | None = None,
    is_enabled: bool | None = None,
) -> ProviderModel:
    """Update given fields; the nullable numbers accept None to clear them. Nothing is filled in
    from the catalogue here: an edit states what the workspace wants."""
    entry = provider_model
    if model is not None:
        entry.model = model.strip()
        if not entry.model:
            raise InvalidInput("model cannot be empty.", code="required", param="model")
    if kind is not None:
        _validate_model_kind(kind)
        entry.kind = kind
    if model is not None or kind is not None:
        _ensure_not_listed(provider=entry.provider, model=entry.model, kind=entry.kind, exclude_id=entry.pk)
    if display_name is not None:
        entry.display_name = display_name.strip()
    for field, value in (
        ("context_window", context_window),
        ("max_output_tokens", max_output_tokens),
        ("embedding_dimensions", embedding_dimensions),
    ):
        if value is not _UNSET:
            setattr(entry, field, value or None)
    if entry.kind == ModelKind.EMBEDDING and not entry.embedding_dimensions:
        raise InvalidInput(
            "embedding_dimensions is required for an embedding model.", code="required", param="embedding_dimensions"
        )
    if input_price_per_million is not None:
        entry.input_price_per_million = input_price_per_million
    if output_price_per_million is not None:
        entry.output_price_per_million = output_price_per_million
    if supports_tools is not None:
        entry.supports_tools = supports_tools
    if supports_json_mode is not None:
        entry.supports_json_mode = supports_json_mode
    if is_enabled is not None:
        entry.is_enabled = is_enabled
    entry.save()
    return entry


@transaction.atomic
def provider_model_delete(*, provider_model: ProviderModel) -> None:
    try:
        provider_model.delete()
    except ProtectedError as exc:
        raise Conflict(
            f"{provider_model} is still used ({_users(exc)}); switch those to another model first, "
            "or disable it instead.",
            code="model_in_use",
        ) from exc

"""Reads: a workspace's model providers, their model catalogues and the models it can use."""

from __future__ import annotations

from django.db.models import Count, F, Q, QuerySet

from accounts.models import Workspace
from providers.models import ModelKind, Provider, ProviderModel

# A model serves only while it and its provider are both enabled.
USABLE = Q(is_enabled=True, provider__is_enabled=True)


def provider_model_is_usable(provider_model: ProviderModel) -> bool:
    """What `USABLE` says of one model already loaded (with its provider)."""
    return provider_model.is_enabled and provider_model.provider.is_enabled


def provider_list(*, workspace: Workspace) -> QuerySet[Provider]:
    return Provider.objects.for_workspace(workspace).annotate(model_count=Count("models")).order_by("name")


def provider_get(*, workspace: Workspace, id: str) -> Provider | None:
    return Provider.objects.for_workspace(workspace).filter(pk=id).first()


def provider_model_list(*, provider: Provider) -> QuerySet[ProviderModel]:
    return ProviderModel.objects.filter(provider=provider).order_by("kind", "model")


def provider_model_get(*, provider: Provider, id: str) -> ProviderModel | None:
    return ProviderModel.objects.filter(provider=provider, pk=id).first()


def provider_model_find(*, workspace_id: str | None = None, id: str) -> ProviderModel | None:
    """A model with its provider loaded, by id; within the workspace when one is given."""
    entries = ProviderModel.objects.select_related("provider").filter(pk=id)
    if workspace_id is not None:
        entries = entries.filter(workspace_id=workspace_id)
    return entries.first()


def provider_model_usable_list(*, workspace_id: str, kind: str | None = None) -> QuerySet[ProviderModel]:
    """The models the workspace can use now, by provider name, with the provider's name and kind."""
    entries = ProviderModel.objects.filter(USABLE, workspace_id=workspace_id)
    if kind:
        entries = entries.filter(kind=kind)
    return (
        entries.select_related("provider")
        .annotate(provider_name=F("provider__name"), provider_kind=F("provider__kind"))
        .order_by("provider__name", "kind", "model")
    )


def embedding_model_usable_list(*, workspace_id: str) -> QuerySet[ProviderModel]:
    return provider_model_usable_list(workspace_id=workspace_id, kind=ModelKind.EMBEDDING)

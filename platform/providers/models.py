"""Provider entries and their model catalogue (chat / embedding, context window, prices)."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import WorkspaceScopedModel
from switchboard.ids import id_field
from switchboard.vault import EncryptedTextField


class ProviderKind(models.TextChoices):
    OPENAI = "openai", "OpenAI"
    AZURE_OPENAI = "azure_openai", "Azure OpenAI"
    OPENAI_COMPATIBLE = "openai_compatible", _("OpenAI-compatible (Ollama, vLLM, DeepSeek, …)")


OPENAI_BASE_URL = "https://api.openai.com/v1"


class Provider(WorkspaceScopedModel):
    id = id_field("prv")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=ProviderKind.choices)
    base_url = models.URLField(
        max_length=500,
        blank=True,
        help_text="Empty for OpenAI; the endpoint (…/v1) for the others; "
        "https://<resource>.openai.azure.com for Azure.",
    )
    api_key = EncryptedTextField(null=True, blank=True)
    api_version = models.CharField(max_length=40, blank=True, help_text="Azure OpenAI only, e.g. 2024-10-21.")
    timeout_seconds = models.PositiveIntegerField(default=60)
    is_enabled = models.BooleanField(default=True)
    last_tested_at = models.DateTimeField(null=True, blank=True)
    last_test_ok = models.BooleanField(null=True, blank=True)
    last_test_message = models.TextField(blank=True)
    # The model ids the last successful connection test listed: offered when adding a model.
    listed_models = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="provider_name_unique")]

    def __str__(self) -> str:
        return self.name

    @property
    def effective_base_url(self) -> str:
        return self.base_url or (OPENAI_BASE_URL if self.kind == ProviderKind.OPENAI else "")


class ModelKind(models.TextChoices):
    CHAT = "chat", _("Chat")
    EMBEDDING = "embedding", _("Embedding")


class ProviderModel(WorkspaceScopedModel):
    """A model offered by a provider. For Azure, `model` is the deployment name."""

    id = id_field("mdl")
    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="models")
    model = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=ModelKind.choices, default=ModelKind.CHAT)
    display_name = models.CharField(max_length=200, blank=True)
    context_window = models.PositiveIntegerField(null=True, blank=True)
    max_output_tokens = models.PositiveIntegerField(null=True, blank=True)
    embedding_dimensions = models.PositiveIntegerField(null=True, blank=True)
    supports_tools = models.BooleanField(default=True)
    supports_json_mode = models.BooleanField(default=True)
    input_price_per_million = models.DecimalField(max_digits=12, decimal_places=6, default=Decimal("0"))
    output_price_per_million = models.DecimalField(max_digits=12, decimal_places=6, default=Decimal("0"))
    is_enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["provider__name", "kind", "model"]
        constraints = [models.UniqueConstraint(fields=["provider", "model", "kind"], name="provider_model_unique")]

    def __str__(self) -> str:
        return self.display_name or self.model

    def cost(self, *, input_tokens: int, output_tokens: int) -> Decimal:
        million = Decimal(1_000_000)
        return (
            Decimal(input_tokens) * self.input_price_per_million
            + Decimal(output_tokens) * self.output_price_per_million
        ) / million

"""Forms of the provider pages. They only parse input; the services validate and write."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from providers.models import ModelKind, Provider, ProviderKind

KIND_HELP = {
    ProviderKind.OPENAI: _("Leave the base URL empty to use api.openai.com."),
    ProviderKind.AZURE_OPENAI: _(
        "Base URL https://<resource>.openai.azure.com and an API version are required; models are your "
        "deployment names."
    ),
    ProviderKind.OPENAI_COMPATIBLE: _(
        "Any server speaking the OpenAI API: give its base URL, usually ending in /v1 — Ollama "
        "http://localhost:11434/v1, vLLM http://<host>:8000/v1, DeepSeek https://api.deepseek.com/v1."
    ),
}


class ProviderForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        label=_("Name"),
        help_text=_("How the workspace will recognise it, e.g. 'OpenAI' or 'Ollama on gpu-1'."),
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=ProviderKind.choices, initial=ProviderKind.OPENAI)
    base_url = forms.CharField(
        label=_("Base URL"),
        max_length=500,
        required=False,
        help_text=_(
            "Empty for OpenAI. The endpoint for the others, e.g. http://localhost:11434/v1 (Ollama) or "
            "https://<resource>.openai.azure.com (Azure)."
        ),
        widget=forms.TextInput(
            attrs={
                "placeholder": "http://localhost:11434/v1",
                "inputmode": "url",
                "autocomplete": "off",
                "spellcheck": "false",
            }
        ),
    )
    # Never rendered back: the page shows the stored key's hint instead.
    api_key = forms.CharField(
        label=_("API key"),
        max_length=1000,
        required=False,
        strip=True,
        help_text=_("Stored encrypted. Local servers such as Ollama need none."),
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    api_version = forms.CharField(
        label=_("API version"), max_length=40, required=False, help_text=_("Azure OpenAI only, e.g. 2024-10-21.")
    )
    timeout_seconds = forms.IntegerField(
        label=_("Timeout (seconds)"),
        min_value=1,
        max_value=600,
        initial=60,
        help_text=_("How long to wait for an answer before giving up."),
    )


class ProviderEditForm(ProviderForm):
    remove_api_key = forms.BooleanField(label=_("Remove the stored key"), required=False)
    is_enabled = forms.BooleanField(
        label=_("Enabled"), required=False, help_text=_("A disabled provider's models are not offered to bots.")
    )

    def __init__(self, *args, provider: Provider, **kwargs):
        kwargs.setdefault(
            "initial",
            {
                "name": provider.name,
                "kind": provider.kind,
                "base_url": provider.base_url,
                "api_version": provider.api_version,
                "timeout_seconds": provider.timeout_seconds,
                "is_enabled": provider.is_enabled,
            },
        )
        super().__init__(*args, **kwargs)
        if provider.api_key:
            self.fields["api_key"].help_text = _(
                "A key ending in %(hint)s is stored. Leave empty to keep it; type a new one to replace it."
            ) % {"hint": provider.api_key.hint}
        else:
            del self.fields["remove_api_key"]
            self.fields["api_key"].help_text = _("No key is stored. Local servers such as Ollama need none.")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("remove_api_key") and cleaned.get("api_key"):
            self.add_error("api_key", _("Either type a new key or remove the stored one, not both."))
        return cleaned

    def update_arguments(self) -> dict:
        """Keyword arguments for services.provider_update: an empty key field keeps the stored key."""
        data = dict(self.cleaned_data)
        remove = data.pop("remove_api_key", False)
        if remove:
            data["api_key"] = ""
        elif not data["api_key"]:
            del data["api_key"]
        return data


class ProviderModelForm(forms.Form):
    model = forms.CharField(
        label=_("Model"),
        max_length=200,
        help_text=_("The provider's model id, e.g. gpt-4o-mini or qwen2.5:7b; the deployment name on Azure."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=ModelKind.choices, initial=ModelKind.CHAT)
    display_name = forms.CharField(label=_("Display name"), max_length=200, required=False)
    context_window = forms.IntegerField(label=_("Context window"), min_value=1, required=False)
    embedding_dimensions = forms.IntegerField(
        label=_("Embedding dimensions"), min_value=1, required=False, help_text=_("Embedding models only.")
    )
    input_price_per_million = forms.DecimalField(
        label=_("Input $ / 1M tokens"), min_value=Decimal("0"), max_digits=12, decimal_places=6, required=False
    )
    output_price_per_million = forms.DecimalField(
        label=_("Output $ / 1M tokens"), min_value=Decimal("0"), max_digits=12, decimal_places=6, required=False
    )

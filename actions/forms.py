"""Forms of the action pages. They only parse input; the services validate and write."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from actions import auth
from actions.models import Action, AuthType

_URL_ATTRS = {"inputmode": "url", "autocomplete": "off", "spellcheck": "false"}


class ImportForm(forms.Form):
    url = forms.CharField(
        label=_("Spec URL"),
        max_length=2000,
        required=False,
        help_text=_("Where the OpenAPI document is published, e.g. https://api.example.com/openapi.json."),
        widget=forms.TextInput(attrs={"placeholder": "https://…/openapi.json", **_URL_ATTRS}),
    )
    spec = forms.CharField(
        label=_("…or paste the spec"),
        required=False,
        strip=False,
        help_text=_("JSON or YAML: OpenAPI 3.0, 3.1 or Swagger 2.0."),
        widget=forms.Textarea(
            attrs={"rows": 10, "spellcheck": "false", "style": "font-family:monospace;font-size:13px"}
        ),
    )
    file = forms.FileField(label=_("…or upload a file"), required=False)
    name = forms.CharField(max_length=200, required=False, label=_("Name"), help_text=_("Default: the spec's title."))
    server_url = forms.CharField(
        label=_("Base URL"),
        max_length=2000,
        required=False,
        help_text=_("Default: the spec's first server. Needed when the spec has none."),
        widget=forms.TextInput(attrs={"placeholder": "https://api.example.com/v1", **_URL_ATTRS}),
    )
    preview = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean(self):
        cleaned = super().clean()
        given = [key for key in ("url", "spec", "file") if cleaned.get(key)]
        if len(given) > 1:
            raise forms.ValidationError(_("Give the spec one way: a URL, pasted text or a file."))
        if not given and not cleaned.get("preview"):
            raise forms.ValidationError(_("Give the spec: its URL, its text or the file."))
        return cleaned


class ReimportForm(forms.Form):
    url = forms.CharField(
        label=_("New spec URL"),
        max_length=2000,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "https://…/openapi.json", **_URL_ATTRS}),
    )
    spec = forms.CharField(
        label=_("…or paste the new spec"),
        required=False,
        strip=False,
        widget=forms.Textarea(
            attrs={"rows": 8, "spellcheck": "false", "style": "font-family:monospace;font-size:13px"}
        ),
    )
    file = forms.FileField(label=_("…or upload it"), required=False)
    preview = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean(self):
        cleaned = super().clean()
        if len([key for key in ("url", "spec", "file") if cleaned.get(key)]) > 1:
            raise forms.ValidationError(_("Give the new spec one way: a URL, pasted text or a file."))
        return cleaned


class ActionSettingsForm(forms.Form):
    name = forms.CharField(max_length=200, label=_("Name"))
    server_url = forms.CharField(
        label=_("Base URL"),
        max_length=2000,
        required=False,
        help_text=_("Every call goes to this URL + the operation's path."),
        widget=forms.TextInput(attrs=_URL_ATTRS),
    )
    enabled = forms.BooleanField(
        required=False, label=_("Enabled"), help_text=_("A disabled action offers no tools to bots.")
    )

    def __init__(self, *args, action: Action, **kwargs):
        kwargs.setdefault("initial", {"name": action.name, "server_url": action.server_url, "enabled": action.enabled})
        super().__init__(*args, **kwargs)


_SECRET = forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"})


class AuthForm(forms.Form):
    type = forms.ChoiceField(label=_("Authentication"), choices=AuthType.choices)
    location = forms.ChoiceField(
        label=_("Location"), choices=[("header", _("Header")), ("query", _("Query parameter"))], required=False
    )
    name = forms.CharField(
        label=_("Header / parameter name"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "X-API-Key", "spellcheck": "false"}),
    )
    prefix = forms.CharField(
        max_length=50,
        required=False,
        label=_("Prefix"),
        help_text=_("Sent before the key in the header, e.g. Token or Bearer."),
    )
    api_key = forms.CharField(label=_("API key"), required=False, widget=_SECRET)
    token = forms.CharField(label=_("Bearer token"), required=False, widget=_SECRET)
    username = forms.CharField(label=_("User name"), required=False, widget=_SECRET)
    password = forms.CharField(label=_("Password"), required=False, strip=False, widget=_SECRET)
    token_url = forms.CharField(
        label=_("Token URL"),
        max_length=2000,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "https://auth.example.com/oauth/token", **_URL_ATTRS}),
    )
    scopes = forms.CharField(max_length=2000, required=False, label=_("Scopes"), help_text=_("Space-separated."))
    audience = forms.CharField(
        max_length=500, required=False, label=_("Audience"), help_text=_("Only for servers that want one (Auth0).")
    )
    client_auth = forms.ChoiceField(
        label=_("Client authentication"),
        required=False,
        choices=[("basic", _("HTTP Basic (standard)")), ("body", _("In the form body"))],
    )
    client_id = forms.CharField(label=_("Client ID"), required=False, widget=_SECRET)
    client_secret = forms.CharField(label=_("Client secret"), required=False, widget=_SECRET)
    remove_credentials = forms.BooleanField(label=_("Remove the stored credentials"), required=False)

    def __init__(self, *args, action: Action, **kwargs):
        config = action.auth_config or {}
        initial = {
            "type": action.auth_type,
            "location": config.get("location", "header"),
            "name": config.get("name", ""),
            "prefix": config.get("prefix", ""),
            "token_url": config.get("token_url", ""),
            "scopes": " ".join(config.get("scopes") or []),
            "audience": config.get("audience", ""),
            "client_auth": config.get("client_auth", "basic"),
        }
        kwargs.setdefault("initial", initial)
        kwargs.setdefault("auto_id", "auth_%s")  # shares a page with the settings form ("name")
        super().__init__(*args, **kwargs)
        self._stored_type = action.auth_type
        self._stored_config = dict(config)
        hints = auth.credential_hints(action.credential_values())
        for name, hint in hints.items():
            if name in self.fields:
                self.fields[name].help_text = _("Stored (%(hint)s). Leave empty to keep it.") % {"hint": hint}

    def auth_data(self) -> dict[str, Any]:
        """The input for services.action_auth_apply: only the chosen type's fields; empty secrets are kept.

        Settings shown unchanged are left out, as an API client would leave them out: the service then
        keeps them, or drops them when they no longer apply (the header prefix of a key moved to the
        query string, which the page still holds in a hidden field).
        """
        data = self.cleaned_data
        auth_type = data["type"]
        same_type = auth_type == self._stored_type
        out: dict[str, Any] = {"type": auth_type}
        for key in auth.CONFIG_FIELDS[auth_type]:
            value = data.get(key)
            if key == "scopes":
                value = (value or "").replace(",", " ").split()
            if same_type and key in self._stored_config and value == self._stored_config[key]:
                continue
            out[key] = value
        for key in auth.SECRET_FIELDS[auth_type]:
            if data.get("remove_credentials"):
                out[key] = ""
            elif data.get(key):
                out[key] = data[key]
        return out


class OperationTestForm(forms.Form):
    arguments = forms.CharField(
        label=_("Arguments"),
        required=False,
        strip=False,
        widget=forms.Textarea(
            attrs={"rows": 10, "spellcheck": "false", "style": "font-family:monospace;font-size:13px"}
        ),
        help_text=_("A JSON object, as the model would send it."),
    )

    def clean_arguments(self):
        raw = self.cleaned_data.get("arguments") or "{}"
        try:
            value = json.loads(raw)
        except ValueError as exc:
            raise forms.ValidationError(_("Not valid JSON: %(error)s") % {"error": exc}) from None
        if not isinstance(value, dict):
            raise forms.ValidationError(_("The arguments must be a JSON object."))
        return value


def example_arguments(schema: dict[str, Any]) -> dict[str, Any]:
    """A starting point for the test console: the required arguments with placeholder values."""
    value = _example(schema, depth=0)
    return value if isinstance(value, dict) else {}


def _example(schema: Any, depth: int) -> Any:
    if not isinstance(schema, dict) or depth > 6:
        return None
    if "default" in schema:
        return schema["default"]
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    if "examples" in schema and isinstance(schema["examples"], list) and schema["examples"]:
        return schema["examples"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if isinstance(schema.get(key), list) and schema[key]:
            return _example(schema[key][0], depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind == "object" or (kind is None and "properties" in schema):
        properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        required = [name for name in schema.get("required") or [] if name in properties]
        return {name: _example(properties[name], depth + 1) for name in required}
    if kind == "array":
        return []
    if kind == "integer" or kind == "number":
        return schema.get("minimum", 0)
    if kind == "boolean":
        return False
    if kind == "string":
        return ""
    return None

"""Forms of the Embed & share page; the rules themselves live in services.widget_update."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from bots.models import WidgetPosition

ORIGINS_HELP = _(
    "One site per line, like https://www.example.com (https://*.example.com allows its subdomains). "
    "Only these sites can show the widget."
)


class WidgetSettingsForm(forms.Form):
    enabled = forms.BooleanField(required=False, label=_("Widget on"))
    share_enabled = forms.BooleanField(required=False, label=_("Public link on"))
    allowed_origins = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 4}), label=_("Allowed sites"), help_text=ORIGINS_HELP
    )
    allow_external_images = forms.BooleanField(required=False, label=_("Show images from other hosts in answers"))
    title = forms.CharField(required=False, max_length=80, label=_("Title"))
    accent = forms.CharField(max_length=7, label=_("Accent colour"), widget=forms.TextInput(attrs={"type": "color"}))
    position = forms.ChoiceField(choices=WidgetPosition.choices, label=_("Position"))
    greeting = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}), label=_("Greeting")
    )
    visitor_messages_per_minute = forms.IntegerField(required=False, min_value=1, label=_("Per visitor, a minute"))
    ip_messages_per_minute = forms.IntegerField(required=False, min_value=1, label=_("Per IP address, a minute"))
    daily_message_cap = forms.IntegerField(required=False, min_value=1, label=_("Per day, all visitors"))

    def changes(self) -> dict:
        data = dict(self.cleaned_data)
        data["allowed_origins"] = [line.strip() for line in data["allowed_origins"].splitlines() if line.strip()]
        return data


class WidgetDefaultsForm(forms.Form):
    visitor_messages_per_minute = forms.IntegerField(min_value=1, label=_("Per visitor, a minute"))
    ip_messages_per_minute = forms.IntegerField(min_value=1, label=_("Per IP address, a minute"))
    daily_message_cap = forms.IntegerField(min_value=1, label=_("Per bot and day"))

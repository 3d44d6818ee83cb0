"""The allowlist page's form. It only parses input; the services validate and write."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class AllowlistForm(forms.Form):
    value = forms.CharField(
        label=_("Host or network"),
        max_length=300,
        help_text=_(
            "A CIDR network (10.20.0.0/16), an IP address, or a host name with an optional "
            "port (wiki.corp.example:8443)."
        ),
        widget=forms.TextInput(attrs={"spellcheck": "false", "autocomplete": "off"}),
    )
    note = forms.CharField(max_length=300, required=False, label=_("Note"), help_text=_("Why it is allowed."))
    confirm_broad = forms.BooleanField(
        label=_("I mean to open whole address ranges"),
        required=False,
        help_text=_(
            "Needed for entries such as 0.0.0.0/0 that cover whole private, loopback or link-local ranges and more."
        ),
    )

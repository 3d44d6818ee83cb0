from django import forms
from django.contrib.auth.forms import AuthenticationForm

from accounts.models import ApiKeyScope, Role


class EmailAuthenticationForm(AuthenticationForm):
    username = forms.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="Who or what will use this key, e.g. 'website backend'.")
    scope = forms.ChoiceField(
        choices=ApiKeyScope.choices,
        initial=ApiKeyScope.FULL,
        label="Access",
        help_text="Chat only: the key can chat with published bots and nothing else.",
    )
    role = forms.ChoiceField(
        choices=[(Role.VIEWER, "Viewer"), (Role.EDITOR, "Editor"), (Role.ADMIN, "Admin")],
        initial=Role.EDITOR,
        help_text="For full-access keys.",
    )

    def clean(self):
        cleaned = super().clean()
        # The role select always sends a value; a chat-only key has no role, so it is not passed on.
        if cleaned.get("scope") == ApiKeyScope.CHAT:
            cleaned["role"] = None
        return cleaned

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from accounts.models import ApiKeyScope, AuditAction, Role


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


_ROLE_LABELS = {
    Role.VIEWER: "Viewer — reads everything, changes nothing",
    Role.EDITOR: "Editor — builds bots, knowledge and actions, publishes",
    Role.ADMIN: "Admin — also providers, API keys, network, members",
    Role.OWNER: "Owner — also makes and removes owners",
}


def role_choices(actor_role: str) -> list[tuple[str, str]]:
    """The roles someone with `actor_role` may give: owners any, admins up to admin."""
    roles = [Role.VIEWER, Role.EDITOR, Role.ADMIN] + ([Role.OWNER] if actor_role == Role.OWNER else [])
    return [(role.value, _ROLE_LABELS[role]) for role in roles]


class InviteForm(forms.Form):
    email = forms.CharField(
        max_length=254, label="Email", widget=forms.EmailInput(attrs={"autocomplete": "off", "inputmode": "email"})
    )
    role = forms.ChoiceField(label="Role", initial=Role.EDITOR)

    def __init__(self, *args, actor_role: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = role_choices(actor_role)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class AcceptInvitationForm(forms.Form):
    """A new person's account, made when they accept: the email is the invited one."""

    name = forms.CharField(max_length=150, required=False, label="Your name")
    password = forms.CharField(
        label="Choose a password", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    password_again = forms.CharField(
        label="Password again", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password") and cleaned.get("password") != cleaned.get("password_again"):
            self.add_error("password_again", "The two passwords differ.")
        return cleaned


class AuditFilterForm(forms.Form):
    actor = forms.ChoiceField(required=False, label="Who")
    action = forms.ChoiceField(required=False, label="What", choices=[("", "Any change"), *AuditAction.choices])
    since = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, actors: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["actor"].choices = [("", "Anyone"), *actors]

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            self.add_error("until", "The end date is before the start date.")
        return cleaned

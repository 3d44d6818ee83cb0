from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from accounts.models import ApiKeyScope, AuditAction, Language, Role


class EmailAuthenticationForm(AuthenticationForm):
    username = forms.EmailField(
        label=_("Email"), widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        max_length=100, label=_("Name"), help_text=_("Who or what will use this key, e.g. 'website backend'.")
    )
    scope = forms.ChoiceField(
        choices=ApiKeyScope.choices,
        initial=ApiKeyScope.FULL,
        label=_("Access"),
        help_text=_("Chat only: the key can chat with published bots and nothing else."),
    )
    role = forms.ChoiceField(
        choices=[(Role.VIEWER, _("Viewer")), (Role.EDITOR, _("Editor")), (Role.ADMIN, _("Admin"))],
        initial=Role.EDITOR,
        label=_("Role"),
        help_text=_("For full-access keys."),
    )

    def clean(self):
        cleaned = super().clean()
        # The role select always sends a value; a chat-only key has no role, so it is not passed on.
        if cleaned.get("scope") == ApiKeyScope.CHAT:
            cleaned["role"] = None
        return cleaned


_ROLE_LABELS = {
    Role.VIEWER: _("Viewer — reads everything, changes nothing"),
    Role.EDITOR: _("Editor — builds bots, knowledge and actions, publishes"),
    Role.ADMIN: _("Admin — also providers, API keys, network, members"),
    Role.OWNER: _("Owner — also makes and removes owners"),
}


def role_choices(actor_role: str) -> list[tuple[str, str]]:
    """The roles someone with `actor_role` may give: owners any, admins up to admin."""
    roles = [Role.VIEWER, Role.EDITOR, Role.ADMIN] + ([Role.OWNER] if actor_role == Role.OWNER else [])
    return [(role.value, _ROLE_LABELS[role]) for role in roles]


class InviteForm(forms.Form):
    email = forms.CharField(
        max_length=254, label=_("Email"), widget=forms.EmailInput(attrs={"autocomplete": "off", "inputmode": "email"})
    )
    role = forms.ChoiceField(label=_("Role"), initial=Role.EDITOR)

    def __init__(self, *args, actor_role: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = role_choices(actor_role)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


class AcceptInvitationForm(forms.Form):
    """A new person's account, made when they accept: the email is the invited one."""

    name = forms.CharField(max_length=150, required=False, label=_("Your name"))
    password = forms.CharField(
        label=_("Choose a password"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    password_again = forms.CharField(
        label=_("Password again"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password") and cleaned.get("password") != cleaned.get("password_again"):
            self.add_error("password_again", _("The two passwords differ."))
        return cleaned


class AuditFilterForm(forms.Form):
    actor = forms.ChoiceField(required=False, label=_("Who"))
    action = forms.ChoiceField(required=False, label=_("What"), choices=[("", _("Any change")), *AuditAction.choices])
    since = forms.DateField(required=False, label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, actors: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["actor"].choices = [("", _("Anyone")), *actors]

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            self.add_error("until", _("The end date is before the start date."))
        return cleaned


class LanguageForm(forms.Form):
    """The signed-in person's UI language, kept on their account."""

    language = forms.ChoiceField(
        choices=Language.choices,
        required=False,
        label=_("Language"),
        help_text=_("Browser default follows your browser's preferred language."),
    )

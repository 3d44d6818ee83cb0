from django import forms
from django.contrib.auth.forms import AuthenticationForm

from accounts.models import Role


class EmailAuthenticationForm(AuthenticationForm):
    username = forms.EmailField(label="Email", widget=forms.EmailInput(attrs={"autofocus": True,
                                                                            "autocomplete": "email"}))


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="Who or what will use this key, e.g. 'website backend'.")
    role = forms.ChoiceField(choices=[(Role.VIEWER, "Viewer"), (Role.EDITOR, "Editor"), (Role.ADMIN, "Admin")],
                             initial=Role.EDITOR)

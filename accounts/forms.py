"""Forms of the account pages: they check the shape of the input; the services check the rules."""

from __future__ import annotations

from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.hashers import check_password

from .services import TOKEN_NAME_MAX

PASSWORD_GENERATE = "generate"
PASSWORD_SET = "set"


class UserCreateForm(forms.Form):
    username = forms.CharField(max_length=150)
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    email = forms.EmailField(required=False)
    is_staff = forms.BooleanField(required=False, label="Site administrator (staff)",
                                  help_text="May manage users and open the admin's inspection pages.")
    password_choice = forms.ChoiceField(
        choices=[(PASSWORD_GENERATE, "Generate a password (shown once)"), (PASSWORD_SET, "Set this password:")],
        initial=PASSWORD_GENERATE, widget=forms.RadioSelect, label="Initial password",
    )
    password = forms.CharField(required=False, max_length=4096, strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    must_change_password = forms.BooleanField(required=False, initial=True,
                                              label="Must change the password at first login")

    def clean(self):
        data = super().clean()
        if data.get("password_choice") == PASSWORD_SET and not data.get("password"):
            self.add_error("password", "Type the password, or let one be generated.")
        return data

    def initial_password(self) -> str | None:
        """The password to set, or None to generate one."""
        data = self.cleaned_data
        return data["password"] if data["password_choice"] == PASSWORD_SET else None


class UserEditForm(forms.Form):
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    email = forms.EmailField(required=False)
    is_staff = forms.BooleanField(required=False, label="Site administrator (staff)")
    must_change_password = forms.BooleanField(required=False, label="Must change the password at next request")


class TokenCreateForm(forms.Form):
    name = forms.CharField(max_length=TOKEN_NAME_MAX, help_text="What it is for, e.g. “nightly export script”.")


class PasswordChangeForm(auth_forms.PasswordChangeForm):
    """Django's form, refusing the password the account has now: a temporary password handed over by an
    administrator must really be replaced."""

    def clean(self):
        data = super().clean()
        password = data.get("new_password1")
        # The hasher function, not user.check_password: that one may save an upgraded hash, which would
        # count as a password change (and clear the flag) before the person has chosen anything.
        if password and not self.errors and check_password(password, self.user.password):
            self.add_error("new_password2", forms.ValidationError(
                "Choose a password different from your current one.", code="password_reused"))
        return data

from django import forms

from tenants.models import Membership, Tenant


class TenantNameForm(forms.Form):
    name = forms.CharField(max_length=Tenant._meta.get_field("name").max_length, strip=True)


class TenantDeleteForm(forms.Form):
    """Asks for the tenant's name, so that a tenant is never deleted by a stray click."""

    name = forms.CharField(label="Type the tenant's name to confirm", strip=True)

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.tenant = tenant

    def clean_name(self):
        name = self.cleaned_data["name"]
        if name != self.tenant.name:
            raise forms.ValidationError(
                "The name does not match. Type the tenant's name exactly as shown."
            )
        return name


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Membership.Role.choices)


class InvitationForm(forms.Form):
    email = forms.EmailField()
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.MEMBER)


# --- Keap connections -------------------------------------------------------------------------


class ApiKeyForm(forms.Form):
    """A pasted Keap personal access token or service account key.

    The key field never renders its value back, so a rejected key is not echoed into the page.
    """

    method = forms.ChoiceField(
        label="Key type",
        choices=[("pat", "Personal access token"), ("sak", "Service account key")],
        widget=forms.RadioSelect,
        initial="pat",
    )
    key = forms.CharField(
        label="Key",
        strip=True,
        max_length=300,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Starts with KeapAK-. Keap shows the whole key only once, when you create it.",
    )

    def __init__(self, *args, method=None, **kwargs):
        super().__init__(*args, **kwargs)
        if method:
            # Reconnecting keeps the connection's key type.
            self.fields["method"].initial = method
            self.fields["method"].disabled = True

    def clean_key(self):
        from connector.actions import check_api_key
        from connector.keap.errors import ConnectorError

        try:
            return check_api_key(self.cleaned_data["key"])
        except ConnectorError as error:
            raise forms.ValidationError(error.message, code=error.code)

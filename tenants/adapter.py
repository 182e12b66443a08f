"""allauth adapter that returns HTTP 429 for failed logins beyond the limit."""

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from django.core.exceptions import ValidationError
from django.shortcuts import render


class AccountAdapter(DefaultAccountAdapter):
    def pre_authenticate(self, request, **credentials):
        # allauth shows "too many failed login attempts" as a form error with status 200, but a
        # 429 makes scripts and proxies back off. The limit counts per address whether or not an
        # account exists, so the response does not reveal which addresses are registered.
        try:
            super().pre_authenticate(request, **credentials)
        except ValidationError as error:
            if error.code != "too_many_login_attempts":
                raise
            raise ImmediateHttpResponse(render(request, "429.html", status=429))

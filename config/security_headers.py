"""Content Security Policy and related headers for every response of the portal."""

from functools import lru_cache
from urllib.parse import urlsplit

from django.conf import settings


def _origin(url):
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@lru_cache(maxsize=4)
def content_security_policy(authorize_url):
    """Return the portal's CSP: own scripts and styles only, no inline code, no framing.

    `form-action` also names Keap's authorize origin, because "Connect with Keap" posts a form
    whose response redirects there, and browsers apply form-action to that redirect.
    """
    directives = {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": "'self' data:",
        "font-src": "'self'",
        "connect-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "frame-ancestors": "'none'",
        "form-action": f"'self' {_origin(authorize_url)}",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # Read per response, so a settings override in tests reaches a server started earlier.
        policy = content_security_policy(settings.KEAP_AUTHORIZE_URL)
        response.setdefault("Content-Security-Policy", policy)
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        response.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        return response

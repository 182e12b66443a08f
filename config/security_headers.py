"""Content Security Policy and related headers for every response of the portal."""

from urllib.parse import urlsplit

from django.conf import settings


def _origin(url):
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy():
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
        "form-action": f"'self' {_origin(settings.KEAP_AUTHORIZE_URL)}",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = content_security_policy()

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", self.policy)
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        response.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        return response

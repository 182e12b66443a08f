"""The one way the portal makes outbound HTTP requests.

Every request gets connect and read timeouts and a User-Agent, follows no redirects, and may go
only to the scheme, host and port of a configured Keap URL (KEAP_AUTHORIZE_URL, KEAP_TOKEN_URL,
KEAP_API_BASE_URL). The allow-list is the SSRF guard: a path or URL taken from a client request
can never point the portal at another host, such as a cloud metadata address.
"""

import threading
from urllib.parse import urlsplit

import requests
from django.conf import settings

USER_AGENT = "connector-portal/0.1"

_local = threading.local()


class DisallowedHost(Exception):
    """The URL's scheme, host or port is not one of the configured Keap origins."""


def allowed_origins():
    urls = [settings.KEAP_AUTHORIZE_URL, settings.KEAP_TOKEN_URL, settings.KEAP_API_BASE_URL]
    return {_origin(url) for url in urls}


def _origin(url):
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or {"http": 80, "https": 443}.get(scheme)
    return (scheme, (parts.hostname or "").lower(), port)


def check_url(url):
    """Raise DisallowedHost unless `url` goes to a configured Keap origin."""
    origin = _origin(url)
    if origin not in allowed_origins():
        scheme, host, port = origin
        raise DisallowedHost(
            f"Refused an outbound request to {scheme}://{host}:{port}: only the configured "
            "Keap hosts (KEAP_API_BASE_URL, KEAP_TOKEN_URL, KEAP_AUTHORIZE_URL) are allowed."
        )


def session():
    """Return this thread's requests.Session, so connections are reused within a worker."""
    current = getattr(_local, "session", None)
    if current is None:
        current = requests.Session()
        current.headers["User-Agent"] = USER_AGENT
        # Proxy variables from the environment must not send Keap traffic elsewhere.
        current.trust_env = False
        _local.session = current
    return current


def request(method, url, *, timeout=None, **kwargs):
    """Send one request through the guard and return the requests.Response.

    Raises DisallowedHost before any network traffic when the URL is not a Keap origin, and
    requests' own exceptions (Timeout, ConnectionError) for transport failures.
    """
    check_url(url)
    if timeout is None:
        timeout = (settings.KEAP_CONNECT_TIMEOUT, settings.KEAP_READ_TIMEOUT)
    return session().request(method, url, timeout=timeout, allow_redirects=False, **kwargs)

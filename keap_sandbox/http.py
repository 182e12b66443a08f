"""A minimal request, response and router for the sandbox's plain WSGI app."""

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import parse_qs

MAX_BODY_BYTES = 5 * 1024 * 1024


class DropConnection(Exception):
    """Raised by a handler to close the socket without sending any response."""


class HttpError(Exception):
    """Raised by a handler to send `response` at once."""

    def __init__(self, response: "Response"):
        super().__init__(response.status)
        self.response = response


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    base_url: str
    environ: dict
    path_params: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_environ(cls, environ: dict) -> "Request":
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(min(length, MAX_BODY_BYTES)) if length else b""
        headers = {
            key[5:].replace("_", "-").lower(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        host = environ.get("HTTP_HOST") or f"{environ['SERVER_NAME']}:{environ['SERVER_PORT']}"
        path = environ.get("PATH_INFO", "/").encode("latin-1").decode("utf-8", "replace")
        return cls(
            method=environ["REQUEST_METHOD"].upper(),
            path=path,
            query=parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True),
            headers=headers,
            body=body,
            base_url=f"http://{host}",
            environ=environ,
        )

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def list_arg(self, name: str) -> list[str]:
        """Return a list parameter sent either repeated (`a=1&a=2`) or comma-separated (`a=1,2`)."""
        items = []
        for value in self.query.get(name, []):
            items.extend(part.strip() for part in value.split(",") if part.strip())
        return items

    def json(self):
        """Return the parsed JSON body, `{}` for an empty body; raise ValueError when invalid."""
        if not self.body:
            return {}
        return json.loads(self.body.decode("utf-8"))

    def form(self) -> dict[str, str]:
        parsed = parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {key: values[0] for key, values in parsed.items()}


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, data, status: int = 200, headers: dict | None = None) -> "Response":
        body = json.dumps(data, ensure_ascii=False).encode("utf-8")
        all_headers = {"Content-Type": "application/json;charset=UTF-8", **(headers or {})}
        return cls(status=status, body=body, headers=all_headers)

    @classmethod
    def html(cls, text: str, status: int = 200) -> "Response":
        return cls(status, text.encode("utf-8"), {"Content-Type": "text/html; charset=utf-8"})

    @classmethod
    def empty(cls, status: int = 204) -> "Response":
        return cls(status=status)

    @classmethod
    def redirect(cls, location: str) -> "Response":
        return cls(status=302, headers={"Location": location})

    def status_line(self) -> str:
        return f"{self.status} {HTTPStatus(self.status).phrase}"


Handler = Callable[[Request], Response]


class Router:
    """Routes on method and a path pattern whose `{name}` parts match one path segment."""

    def __init__(self):
        self.routes: list[tuple[str, re.Pattern, Handler]] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        regex = re.escape(pattern).replace(r"\{", "{").replace(r"\}", "}")
        regex = re.sub(r"{(\w+)}", r"(?P<\1>[^/]+)", regex)
        self.routes.append((method, re.compile(f"^{regex}/?$"), handler))

    def match(self, method: str, path: str) -> tuple[Handler | None, dict, bool]:
        """Return (handler, path parameters, whether the path exists for some other method)."""
        path_known = False
        for route_method, regex, handler in self.routes:
            found = regex.match(path)
            if not found:
                continue
            if route_method == method:
                return handler, found.groupdict(), True
            path_known = True
        return None, {}, path_known

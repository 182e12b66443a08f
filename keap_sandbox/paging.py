"""Paging, ordering and the v2 `filter` grammar, as Keap's REST v1 and v2 specs describe them."""

import base64
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import urlencode

from keap_sandbox.errors import api_error
from keap_sandbox.http import Request

V1_DEFAULT_LIMIT = 1000
V2_DEFAULT_PAGE_SIZE = 1000
V2_MAX_PAGE_SIZE = 1000

CLAUSE = re.compile(r"^\s*([A-Za-z0-9_.]+)\s*(==|!=|>=|<=|>|<)\s*(.*?)\s*$")


def iso(epoch: float | None) -> str | None:
    """Format a time as Keap does: UTC, milliseconds, and a `Z` offset."""
    if epoch is None:
        return None
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_time(value: str, version: str = "v2") -> float:
    """Parse an ISO-8601 time with an offset; raise a 400 error when it is not one."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise api_error(
            version,
            400,
            f"Invalid date {value!r}: use ISO-8601 with an offset, e.g. 2026-01-01T00:00:00.000Z.",
        )
    return moment.timestamp()


# --- v1: limit and offset ---------------------------------------------------------------------


def v1_page(request: Request, items: list, key: str, render: Callable) -> dict:
    """Slice `items` by `limit`/`offset` and add `count`, `next` and `previous` absolute URLs.

    NOTE: `next` is sent on every page, the last one included, so a client stops on an empty
    page. Keap's spec does not say whether its `next` stops at the last page.
    """
    limit = _int_arg(request, "limit", V1_DEFAULT_LIMIT, "v1")
    offset = _int_arg(request, "offset", 0, "v1")
    if limit <= 0:
        limit = V1_DEFAULT_LIMIT
    page = items[offset : offset + limit]

    def link(new_offset: int) -> str:
        query = {name: values[-1] for name, values in request.query.items()}
        query.update(limit=str(limit), offset=str(new_offset))
        return f"{request.base_url}{request.path.rstrip('/')}/?{urlencode(query)}"

    return {
        key: [render(item) for item in page],
        "count": len(items),
        "next": link(offset + limit),
        "previous": link(max(offset - limit, 0)),
    }


def _int_arg(request: Request, name: str, default: int, version: str) -> int:
    value = request.arg(name)
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except ValueError:
        raise api_error(version, 400, f"Invalid {name} {value!r}: use a whole number.")
    if number < 0:
        raise api_error(version, 400, f"Invalid {name} {value}: use 0 or more.")
    return number


# --- v2: page_size and page_token -------------------------------------------------------------


def v2_page(request: Request, items: list, key: str, render: Callable) -> dict:
    """Slice `items` by `page_size`/`page_token`; `next_page_token` is "" on the last page."""
    page_size = _int_arg(request, "page_size", V2_DEFAULT_PAGE_SIZE, "v2") or V2_DEFAULT_PAGE_SIZE
    if page_size > V2_MAX_PAGE_SIZE:
        raise api_error("v2", 400, f"Invalid page_size {page_size}: the maximum is 1000.")
    offset = _decode_page_token(request.arg("page_token") or "")
    page = items[offset : offset + page_size]
    has_more = offset + page_size < len(items)
    next_token = _encode_page_token(offset + page_size) if has_more else ""
    return {key: [render(item) for item in page], "next_page_token": next_token}


def _encode_page_token(offset: int) -> str:
    raw = json.dumps({"offset": offset}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_page_token(token: str) -> int:
    if not token:
        return 0
    try:
        padded = token + "=" * (-len(token) % 4)
        offset = json.loads(base64.urlsafe_b64decode(padded))["offset"]
        if not isinstance(offset, int) or offset < 0:
            raise ValueError(offset)
    except (ValueError, KeyError, TypeError):
        raise api_error("v2", 400, "Invalid page_token: pass the next_page_token of a response.")
    return offset


def v2_order(request: Request, items: list, keys: dict[str, Callable], default: str) -> list:
    """Sort by `order_by` ("<field> <asc|desc>"), one of `keys`; unknown fields are a 400."""
    order_by = (request.arg("order_by") or default).strip()
    parts = order_by.split()
    field = parts[0] if parts else default
    direction = parts[1].lower() if len(parts) > 1 else "asc"
    if field not in keys or direction not in ("asc", "desc") or len(parts) > 2:
        allowed = ", ".join(keys)
        raise api_error(
            "v2",
            400,
            f"Invalid order_by {order_by!r}: use '<field> asc|desc' with one of {allowed}.",
        )
    return sorted(items, key=lambda item: _sort_key(keys[field](item)), reverse=direction == "desc")


def _sort_key(value):
    return (value is None, value if not isinstance(value, str) else value.lower())


# --- v2: filter -------------------------------------------------------------------------------

Matcher = Callable[[object, str, str], bool]


def parse_filter(text: str) -> list[tuple[str, str, str]]:
    """Split `field==value;field2>=value2` into (field, operator, value) clauses."""
    clauses = []
    for part in text.split(";"):
        if not part.strip():
            continue
        found = CLAUSE.match(part)
        if not found:
            raise api_error(
                "v2", 400, f"Invalid filter clause {part!r}: use field==value, joined with ';'."
            )
        clauses.append(found.groups())
    return clauses


def apply_filter(
    request: Request, items: list, matchers: dict[str, Matcher], skip: tuple[str, ...] = ()
) -> list:
    """Keep the items that match every clause of the `filter` parameter.

    Clauses on the fields in `skip` are left to the caller, which filters on them itself.
    """
    clauses = [c for c in parse_filter(request.arg("filter") or "") if c[0] not in skip]
    for field, operator, _value in clauses:
        if field not in matchers:
            allowed = ", ".join(sorted(matchers))
            raise api_error("v2", 400, f"Invalid filter field {field!r}: use one of {allowed}.")
        if operator != "==" and not getattr(matchers[field], "compares", False):
            raise api_error("v2", 400, f"Invalid filter {field}{operator}: only == works here.")
    return [
        item
        for item in items
        if all(matchers[field](item, operator, value) for field, operator, value in clauses)
    ]


def text_matcher(getter: Callable, *, wildcard: bool = False) -> Matcher:
    """Match case-insensitively; a trailing `*` matches a prefix where `wildcard` is allowed.

    `NONE` matches a missing or empty value, as Keap documents for its optional fields.
    """

    def match(item, _operator: str, value: str) -> bool:
        values = getter(item)
        values = values if isinstance(values, list) else [values]
        if value == "NONE":
            return not any(values)
        needle = value.lower()
        for candidate in values:
            text = (candidate or "").lower()
            if wildcard and needle.endswith("*"):
                if text.startswith(needle[:-1]):
                    return True
            elif text == needle:
                return True
        return False

    return match


def id_list_matcher(getter: Callable) -> Matcher:
    def match(item, _operator: str, value: str) -> bool:
        wanted = {part.strip() for part in value.split(",") if part.strip()}
        return str(getter(item)) in wanted

    return match


def number_matcher(getter: Callable) -> Matcher:
    def match(item, operator: str, value: str) -> bool:
        try:
            number = int(value)
        except ValueError:
            raise api_error("v2", 400, f"Invalid number {value!r} in filter.")
        actual = getter(item)
        if actual is None:
            return value == "NONE"
        return _compare(actual, operator, number)

    match.compares = True
    return match


def time_matcher(getter: Callable, bound: str) -> Matcher:
    """Match items whose time is at or after (`bound="since"`) or at or before (`"until"`)."""

    def match(item, _operator: str, value: str) -> bool:
        moment = parse_time(value)
        actual = getter(item)
        if actual is None:
            return False
        return actual >= moment if bound == "since" else actual <= moment

    return match


def _compare(actual, operator: str, expected) -> bool:
    return {
        "==": actual == expected,
        "!=": actual != expected,
        ">": actual > expected,
        "<": actual < expected,
        ">=": actual >= expected,
        "<=": actual <= expected,
    }[operator]

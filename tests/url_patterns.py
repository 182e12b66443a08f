"""Walking the project's URLconf, and the list of patterns that need no tenant check."""

import uuid
from dataclasses import dataclass

from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse

# Patterns open to anyone or guarded by their own package: allauth's account pages, Django's
# admin (staff only) and the health probes. Keep this list short. Every other view belongs in
# tests/tenant_scoped_urls.py.
PUBLIC_URL_NAMES = {"healthz", "readyz"}
PUBLIC_NAMESPACES = {"admin"}
PUBLIC_VIEW_PACKAGES = ("allauth.",)


@dataclass(frozen=True)
class UrlEntry:
    name: str  # "namespace:name", or "" for an unnamed pattern
    route: str  # the pattern strings from the root, joined
    module: str  # module of the view function
    namespaces: tuple


def iter_url_entries(patterns=None, prefix="", namespaces=()):
    if patterns is None:
        patterns = get_resolver().url_patterns
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            inner = namespaces + ((pattern.namespace,) if pattern.namespace else ())
            yield from iter_url_entries(pattern.url_patterns, route, inner)
        elif isinstance(pattern, URLPattern):
            name = ":".join([*namespaces, pattern.name]) if pattern.name else ""
            callback = pattern.callback
            module = getattr(callback, "__module__", "") or ""
            view_class = getattr(callback, "view_class", None)
            if view_class is not None:
                module = view_class.__module__
            yield UrlEntry(name, route, module, namespaces)


def is_public(entry):
    return (
        entry.name in PUBLIC_URL_NAMES
        or any(namespace in PUBLIC_NAMESPACES for namespace in entry.namespaces)
        or entry.module.startswith(PUBLIC_VIEW_PACKAGES)
    )


# Values tried for each kwarg of a pattern that has no builder; the first that reverses wins.
SAMPLE_VALUES = ("x", "1", "auth", str(uuid.UUID(int=1)))


def reverse_with_samples(name, kwarg_names):
    """Return a path for `name` with sample values for its kwargs, or None if none fits."""
    for value in SAMPLE_VALUES:
        try:
            return reverse(name, kwargs=dict.fromkeys(kwarg_names, value))
        except NoReverseMatch:
            continue
    return None


def kwarg_names(name):
    """Return the kwarg names of the named pattern, from Django's reverse table."""
    resolver = get_resolver()
    *namespaces, short_name = name.split(":")
    for namespace in namespaces:
        resolver = resolver.namespace_dict[namespace][1]
    possibilities = resolver.reverse_dict.getlist(short_name)
    for possibility, _pattern, _defaults, _converters in possibilities:
        for _result, params in possibility:
            return params
    return []

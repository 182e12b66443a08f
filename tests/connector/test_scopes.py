"""Tests for the scope catalogue and the request matcher.

The checks against Keap's OpenAPI files read them from the folder named by the environment
variable KEAP_SPEC_DIR, or from `specs/keap/` in the repository. The folder must hold
`keap-v1-openapi-3.0-2025-11-05.json` and `keap-v2-openapi-3.1-official.yml`; without them those
tests fail with a message saying so.
"""

import json
import os
import re
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from connector.scopes import (
    SCOPES,
    InvalidPathError,
    Operation,
    all_operations,
    is_request_allowed,
    least_scopes,
    match_request,
    v2_path_from_official_spec,
    validate_scope_names,
)

V1_SPEC_FILE = "keap-v1-openapi-3.0-2025-11-05.json"
V2_SPEC_FILE = "keap-v2-openapi-3.1-official.yml"
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _spec_dir() -> Path:
    configured = os.environ.get("KEAP_SPEC_DIR")
    if configured:
        return Path(configured)
    return Path(settings.BASE_DIR) / "specs" / "keap"


@pytest.fixture(scope="module")
def spec_operations() -> dict[tuple[str, str], str]:
    """Every operation in Keap's v1 and official v2 files: (method, portal path) -> operationId."""
    folder = _spec_dir()
    v1_file = folder / V1_SPEC_FILE
    v2_file = folder / V2_SPEC_FILE
    if not (v1_file.is_file() and v2_file.is_file()):
        pytest.fail(
            f"Keap's OpenAPI files are missing from {folder}: set KEAP_SPEC_DIR to the folder "
            f"that holds {V1_SPEC_FILE} and {V2_SPEC_FILE}."
        )

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    v1 = json.loads(v1_file.read_text())
    v2 = yaml.load(v2_file.read_text(), Loader=loader)  # noqa: S506 - a safe loader

    operations = {}
    for path, items in v1["paths"].items():
        for method, operation in items.items():
            if method.upper() in HTTP_METHODS:
                operations[(method.upper(), path)] = operation.get("operationId", "")
    for path, items in v2["paths"].items():
        for method, operation in items.items():
            if method.upper() in HTTP_METHODS:
                key = (method.upper(), v2_path_from_official_spec(path))
                operations[key] = operation.get("operationId", "")
    return operations


def _example_path(template: str, value: str = "123") -> str:
    return re.sub(r"\{[^}]+\}", value, template)


def _template_matches(template: str, path: str) -> bool:
    """Match a path to a template one segment at a time, independently of connector.scopes."""
    template_segments = template.split("/")
    path_segments = path.split("/")
    if len(template_segments) != len(path_segments):
        return False

    for expected, actual in zip(template_segments, path_segments, strict=True):
        if "{" not in expected:
            if expected != actual:
                return False
            continue
        # A parameter, possibly followed by a literal suffix such as `:deactivate`.
        suffix = expected[expected.index("}") + 1 :]
        value = actual[: len(actual) - len(suffix)] if suffix else actual
        if suffix and not actual.endswith(suffix):
            return False
        if not (value.isascii() and value.isdigit()):
            return False
    return True


# --- The catalogue ------------------------------------------------------------------------------


@pytest.mark.parametrize("operation", all_operations(), ids=str)
def test_it_lists_only_operations_in_the_spec(operation, spec_operations):
    key = (operation.method, operation.path)

    assert key in spec_operations, f"{operation} is not in Keap's OpenAPI files"
    assert spec_operations[key] == operation.operation_id, (
        f"{operation} is {spec_operations[key]!r} in the spec, not {operation.operation_id!r}"
    )


@pytest.mark.parametrize("name", list(SCOPES))
def test_it_describes_every_scope(name):
    scope = SCOPES[name]
    versions = {operation.version for operation in scope.operations}

    assert scope.name == name
    assert scope.operations, f"{name} allows no operation"
    assert versions == {"v1", "v2"}, f"{name} covers only {sorted(versions)}"
    assert scope.title
    assert scope.description.endswith(".")
    assert scope.description.count(". ") == 0, f"{name} needs a one-sentence description"


def test_it_gives_each_scope_distinct_operations():
    for name, scope in SCOPES.items():
        assert len(set(scope.operations)) == len(scope.operations), f"{name} repeats an operation"


def test_it_uses_only_known_methods_and_paths():
    for operation in all_operations():
        assert operation.method in HTTP_METHODS, str(operation)
        assert operation.path.startswith(("/v1/", "/v2/")), str(operation)


def test_it_suggests_least_scopes():
    suggested = least_scopes()
    suggested.append("account:read")

    assert set(least_scopes()) <= SCOPES.keys()
    assert least_scopes() == ["contacts:write", "tags:apply"]


def test_it_validates_scope_names():
    assert validate_scope_names(["tags:apply", "contacts:read", "tags:apply"]) == [
        "contacts:read",
        "tags:apply",
    ]
    with pytest.raises(ValueError, match="Unknown scope.*contacts:delete"):
        validate_scope_names(["contacts:read", "contacts:delete"])


def test_it_maps_official_v2_paths():
    assert v2_path_from_official_spec("/rest/v2/contacts:merge") == "/v2/contacts:merge"
    with pytest.raises(ValueError, match="/rest/v2/"):
        v2_path_from_official_spec("/v2/contacts")


# --- Matching requests ------------------------------------------------------------------------


@pytest.mark.parametrize("operation", all_operations(), ids=str)
def test_it_matches_every_operation(operation):
    path = _example_path(operation.path)
    granted = {name for name, scope in SCOPES.items() if operation in scope.operations}

    matched = match_request(operation.method, path)

    assert matched is not None, f"{operation.method} {path} matched nothing"
    assert matched.operation == operation
    assert matched.scopes == granted
    assert set(matched.path_parameters.values()) <= {"123"}
    assert is_request_allowed(operation.method, path, granted)
    assert not is_request_allowed(operation.method, path, SCOPES.keys() - granted)


@pytest.mark.parametrize("operation", all_operations(), ids=str)
def test_it_matches_each_example_to_one_template(operation):
    path = _example_path(operation.path)
    templates = [
        other
        for other in all_operations()
        if other.method == operation.method and _template_matches(other.path, path)
    ]

    assert templates == [operation]


def test_it_returns_path_parameters():
    matched = match_request("DELETE", "/v1/tags/7/contacts/42")

    assert matched.operation.path == "/v1/tags/{tagId}/contacts/{contactId}"
    assert matched.path_parameters == {"tagId": "7", "contactId": "42"}


def test_it_prefers_literal_segments():
    assert match_request("GET", "/v1/contacts/model").scopes == {"custom_fields:read"}
    assert match_request("GET", "/v2/contacts/model").scopes == {"custom_fields:read"}
    assert match_request("GET", "/v2/tags/categories").operation.operation_id == (
        "listTagCategories"
    )


def test_it_ignores_method_case():
    matched = match_request("post", "/v2/tags/5/contacts:applyTags")

    assert matched.operation.operation_id == "applyTags"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/v1/contacts/5"),
        ("DELETE", "/v2/contacts/5"),
        ("POST", "/v2/contacts:merge"),
        ("POST", "/v2/contacts:link"),
        ("GET", "/v1/hooks"),
        ("POST", "/v1/hooks"),
        ("DELETE", "/v1/hooks/5"),
        ("GET", "/v1/orders"),
        ("GET", "/v2/orders/5"),
        ("POST", "/v2/orders"),
        ("POST", "/v1/tags"),
        ("DELETE", "/v2/tags/5"),
        ("POST", "/v2/contacts/model/customFields"),
        ("DELETE", "/v2/companies/5"),
        ("POST", "/v2/companies/5/tags/6"),
        ("PUT", "/v1/account/profile"),
        ("PATCH", "/v2/businessProfile"),
        ("GET", "/v2/contacts/5:merge"),
        ("GET", "/v2/contacts/abc"),
        ("GET", "/v2/contacts/-"),
        ("HEAD", "/v2/contacts"),
        ("OPTIONS", "/v1/contacts"),
    ],
)
def test_it_denies_unmapped_operations(method, path):
    assert match_request(method, path) is None
    assert not is_request_allowed(method, path, SCOPES.keys())


def test_it_denies_unmapped_spec_operations(spec_operations):
    mapped = {(operation.method, operation.path) for operation in all_operations()}

    for (method, template), operation_id in spec_operations.items():
        path = _example_path(template)
        try:
            matched = match_request(method, path)
        except InvalidPathError:
            continue
        if (method, template) in mapped:
            assert matched is not None, f"{method} {template} ({operation_id}) did not match"
            assert matched.operation.path == template
        else:
            assert matched is None, (
                f"{method} {template} ({operation_id}) matched {matched.operation}"
            )


@pytest.mark.parametrize(
    "path",
    [
        "",
        "v1/contacts",
        "/v3/contacts",
        "/crm/rest/v1/contacts",
        "/v1/contacts/",
        "//v1/contacts",
        "/v1//contacts",
        "/v1/contacts/../hooks",
        "/v1/contacts/..",
        "/v1/./contacts",
        "/v1/contacts%2F5",
        "/v1/contacts/%35",
        "/v1/contacts?email=a@example.com",
        "/v1/contacts#top",
        "/v1/contacts\\5",
        "/v1/contacts/5 ",
        "/v1/contacts/5\n",
        "/v1/contacts/\u0665",
        "/v2/contacts/\uff15",
        "/v1/" + "a" * 600,
    ],
)
def test_it_rejects_unsafe_paths(path):
    with pytest.raises(InvalidPathError):
        match_request("GET", path)


def test_it_explains_rejected_paths():
    with pytest.raises(InvalidPathError, match="'.' and '..' segments are not allowed"):
        match_request("GET", "/v1/contacts/../hooks")
    with pytest.raises(InvalidPathError, match="percent-encoded"):
        match_request("GET", "/v1/contacts%2F5")
    with pytest.raises(InvalidPathError, match="query parameters separately"):
        match_request("GET", "/v1/contacts?limit=5")
    with pytest.raises(InvalidPathError, match="doubled or trailing slash"):
        match_request("GET", "/v1//contacts")


# Segments that make up the catalogue's templates, plus near misses, so random paths often come
# close to a real template.
_LITERAL_SEGMENTS = sorted(
    {
        segment
        for operation in all_operations()
        for segment in operation.path.split("/")[1:]
        if "{" not in segment
    }
    | {"contacts:merge", "hooks", "orders", "model", "tags:applyTags", "..", "."}
)
_SEGMENT = st.one_of(
    st.sampled_from(_LITERAL_SEGMENTS),
    st.from_regex(r"[0-9]{1,6}", fullmatch=True),
    st.text(alphabet="abcAZ09_-.:%{}?#\\ ", min_size=0, max_size=6),
)
_PATHS = st.one_of(
    st.lists(_SEGMENT, min_size=1, max_size=6).map(lambda parts: "/" + "/".join(parts)),
    st.text(alphabet="/v12contags:{}.0123%?", max_size=40),
    st.sampled_from(all_operations()).flatmap(
        lambda operation: st.from_regex(r"[0-9]{1,4}|[a-z]{1,3}|", fullmatch=True).map(
            lambda value: _example_path(operation.path, value)
        )
    ),
)


@hypothesis_settings(
    max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(method=st.sampled_from(HTTP_METHODS), path=_PATHS)
def test_it_matches_random_paths_only_through_templates(method, path):
    try:
        matched = match_request(method, path)
    except InvalidPathError:
        matched = None
    templates = [
        operation
        for operation in all_operations()
        if operation.method == method and _template_matches(operation.path, path)
    ]

    if matched is None:
        assert templates == [], f"{method} {path} matches {templates[0]} but was denied"
    else:
        assert templates == [matched.operation]
        assert isinstance(matched.operation, Operation)


# --- Docs -------------------------------------------------------------------------------------


def _docs_table_rows(section_title: str) -> list[list[str]]:
    text = (Path(settings.BASE_DIR) / "docs" / "scopes.md").read_text()
    section = text.split(f"## {section_title}\n", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        if line.startswith("| `"):
            rows.append([cell.strip() for cell in line.strip("|").split(" | ")])
    return rows


def test_it_documents_the_same_scopes():
    rows = _docs_table_rows("The scopes")
    documented = [row[0].strip("`") for row in rows]

    assert documented == list(SCOPES)
    for name, title, description in rows:
        scope = SCOPES[name.strip("`")]
        assert title == scope.title, f"docs/scopes.md has another title for {scope.name}"
        assert description == scope.description, (
            f"docs/scopes.md has another description for {scope.name}"
        )


def test_it_documents_the_operations_of_each_scope():
    rows = _docs_table_rows("Keap operations per scope")

    assert [row[0].strip("`") for row in rows] == list(SCOPES)
    for name, v1_cell, v2_cell in rows:
        for operation in SCOPES[name.strip("`")].operations:
            cell = v1_cell if operation.version == "v1" else v2_cell
            assert operation.path + "`" in cell, f"docs/scopes.md omits {operation} in {name}"

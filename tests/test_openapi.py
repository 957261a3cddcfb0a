"""docs/openapi.yaml tells the truth about the relationship-intelligence responses.

Each response of connectors, coverage, paths, the caller's own strength, a person and a
company, on a small firm,
is validated against its schema in docs/openapi.yaml, with every object closed: a field the
API returns and the document does not name fails, as does a documented field of the wrong
type. (The document had fallen behind: `email` on listed people and
`last_contact_estimated` were returned for a session before it named them.)
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator

from tests.test_connectors import AT, auth, firm  # noqa: F401 (fixtures)
from tests.test_engine import CLIENT

DOCUMENT = Path(__file__).resolve().parent.parent / "docs" / "openapi.yaml"


def closed(schema: Any) -> Any:
    """The schema with every object that lists its properties closed to others."""
    if isinstance(schema, dict):
        found = {key: closed(value) for key, value in schema.items()}
        if "properties" in found and "additionalProperties" not in found:
            found["additionalProperties"] = False
        return found
    if isinstance(schema, list):
        return [closed(value) for value in schema]
    return schema


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(DOCUMENT.read_text(encoding="utf-8"))
    return loaded


def check(document: dict[str, Any], name: str, body: Any) -> None:
    root = closed(copy.deepcopy(document))
    # The document's own keys (openapi, info, paths) are no JSON Schema keywords: ignored.
    schema = {**root, "$ref": f"#/components/schemas/{name}"}
    errors = sorted(Draft202012Validator(schema).iter_errors(body), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])


@pytest.mark.parametrize(
    ("name", "url"),
    [
        ("Connectors", "/api/v1/people/{client}/connectors?at={at}"),
        ("Coverage", "/api/v1/companies/{company}/coverage?at={at}"),
        ("Paths", "/api/v1/paths?to={client}&at={at}"),
        ("Strength", "/api/v1/people/{client}/strength?at={at}"),
        ("Person", "/api/v1/people/{client}"),
        ("Company", "/api/v1/companies/{company}"),
    ],
)
def test_responses_match_the_document(
    client: FlaskClient,
    auth: dict[str, str],  # noqa: F811 (a fixture)
    firm: dict[str, int],  # noqa: F811 (a fixture)
    document: dict[str, Any],
    name: str,
    url: str,
) -> None:
    person = client.get(f"/api/v1/people?email={CLIENT}", headers=auth).get_json()
    company = person["company"]["id"]
    response = client.get(url.format(client=firm["client"], company=company, at=AT), headers=auth)
    assert response.status_code == 200, response.get_json()
    check(document, name, response.get_json())


def test_a_field_the_document_does_not_name_fails(document: dict[str, Any]) -> None:
    """The check can fail: an undocumented field, or a documented one of the wrong type."""
    named = {"id": 1, "display_name": "Jane Roe", "email": None}
    check(document, "Named", named)
    with pytest.raises(AssertionError, match="Additional properties"):
        check(document, "Named", named | {"secret": "x"})
    with pytest.raises(AssertionError, match="is not of type"):
        check(document, "Named", named | {"id": "1"})

"""The spec the gateway publishes is openapi.yaml as written: `/openapi.yaml` and
`/openapi.json` are the same document, the file's, with its `$ref`s (which client generators
name their models after) and `servers` naming where the gateway answers; it is a valid OpenAPI
3.1 document, and the reference page reads it."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from openapi_spec_validator import validate

from gateway.settings import REPO_ROOT
from tests.conftest import Gateway
from web.published_spec import PublishedSpec, load

FILE = load(REPO_ROOT / "openapi.yaml")


@pytest.fixture(scope="module")
def gw(module_gateway: Gateway) -> Gateway:
    return module_gateway


@pytest.fixture(scope="module")
def served(gw: Gateway) -> dict[str, Any]:
    with gw.http() as http:
        as_json = http.get("/openapi.json", headers={"Authorization": ""})
        as_yaml = http.get("/openapi.yaml", headers={"Authorization": ""})
    assert as_json.headers["content-type"] == "application/json"
    assert as_yaml.headers["content-type"] == "application/yaml"
    assert "&id0" not in as_yaml.text and "<<:" not in as_yaml.text  # plain YAML 1.2
    document = as_json.json()
    assert yaml.safe_load(as_yaml.text) == document
    return document


def test_the_served_spec_is_the_file_s_document_with_its_refs(served: dict[str, Any]) -> None:
    assert served == {**FILE, "servers": [{"url": "/api/openai/v1"}]}
    body = served["paths"]["/chat/completions"]["post"]["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/CreateChatCompletionRequest"}


def test_the_served_spec_is_a_valid_openapi_3_1_document(served: dict[str, Any]) -> None:
    assert served["openapi"].startswith("3.1")
    validate(served)


def test_the_served_servers_name_the_base_path_after_a_proxy_s_prefix() -> None:
    published = PublishedSpec(FILE)
    assert published.document("")["servers"] == [{"url": "/api/openai/v1"}]
    assert published.document("/llm")["servers"] == [{"url": "/llm/api/openai/v1"}]
    assert yaml.safe_load(published.rendered("application/yaml", "/llm"))["servers"] == [
        {"url": "/llm/api/openai/v1"}
    ]


def test_the_reference_page_reads_the_served_spec(gw: Gateway) -> None:
    """Relative to the page, so that it holds behind a proxy's path prefix too."""
    with gw.http() as http:
        page = http.get("/reference/", headers={"Authorization": ""}).text
        assert 'url: "../openapi.json"' in page
        spec = http.get("/reference/../openapi.json", headers={"Authorization": ""})
    assert spec.status_code == 200 and spec.json()["openapi"].startswith("3.1")

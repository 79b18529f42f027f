"""Every failure is OpenAI's error envelope with the right status, and has an x-request-id."""

from __future__ import annotations

import pytest

from tests.conftest import Gateway

ENVELOPE = {"message", "type", "param", "code"}


def assert_openai_error(response, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["x-request-id"].startswith("req_")
    error = response.json()["error"]
    assert set(error) == ENVELOPE
    return error


def test_malformed_json_is_400(gateway: Gateway) -> None:
    with gateway.http() as http:
        response = http.post(
            "/chat/completions", content=b'{"model": ', headers={"Content-Type": "application/json"}
        )
    assert "parse the JSON body" in assert_openai_error(response, 400)["message"]


def test_invalid_utf8_is_400_not_500(gateway: Gateway) -> None:
    with gateway.http() as http:
        response = http.post(
            "/chat/completions",
            content=b'{"model": "\xff\xfe", "messages": []}',
            headers={"Content-Type": "application/json"},
        )
    assert_openai_error(response, 400)


def test_body_too_large_is_413(start_gateway) -> None:  # type: ignore[no-untyped-def]
    gateway = start_gateway(env={"WMGW_MAX_BODY_BYTES": "2000"})
    body = {"model": "writingmate/echo", "messages": [{"role": "user", "content": "x" * 5000}]}
    with gateway.http() as http:
        response = http.post("/chat/completions", json=body)
    assert_openai_error(response, 413)


def test_wrong_method_is_405_with_allow(gateway: Gateway) -> None:
    with gateway.http() as http:
        response = http.delete("/models")
    assert_openai_error(response, 405)
    assert "GET" in response.headers["allow"]


def test_unknown_path_is_404(gateway: Gateway) -> None:
    with gateway.http() as http:
        response = http.get("/no-such-thing")
    assert_openai_error(response, 404)


def test_wrong_content_type_is_415(gateway: Gateway) -> None:
    with gateway.http() as http:
        response = http.post(
            "/chat/completions", content=b"hi", headers={"Content-Type": "text/plain"}
        )
    assert_openai_error(response, 415)


@pytest.mark.parametrize("path", ["/openapi.yaml", "/openapi.json", "/reference/"])
def test_spec_and_reference_page_are_served_without_a_key(gateway: Gateway, path: str) -> None:
    with gateway.http() as http:
        response = http.get(path, headers={"Authorization": ""})
    assert response.status_code == 200
    assert response.headers["x-request-id"]


def test_reference_page_loads_its_scripts_locally(gateway: Gateway) -> None:
    with gateway.http() as http:
        page = http.get("/reference/").text
        assert "./swagger-ui-bundle.js" in page and "https://" not in page
        script = http.get("/reference/swagger-ui-bundle.js")
        assert script.status_code == 200 and 'PACKAGE_VERSION:"5.' in script.text  # reads 3.1
        assert http.get("/reference/swagger-ui.css").status_code == 200
        assert (
            http.get("/reference", follow_redirects=False)
            .headers["location"]
            .endswith("/reference/")
        )
        assert http.get("/reference/..%2Fcore.py").status_code == 404  # only its own files


def test_a_bad_query_parameter_is_400_naming_it(gateway: Gateway) -> None:
    with gateway.http() as http:
        response = http.get("/videos/video_123/content", params={"variant": "poster"})
    error = assert_openai_error(response, 400)
    assert (error["param"], error["code"]) == ("variant", "invalid_value")
    assert "poster" in error["message"] and "\n" not in error["message"]

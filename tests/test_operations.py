"""Operations are named as OpenAI names them, and each finds its handler by the naming rule of
web/operations.py: the module of its tag, the function of its operationId in snake case.
So a client generated from the spec has OpenAI's method names (`create_chat_completion`)."""

from __future__ import annotations

import inspect
from functools import cache
from typing import Any

import yaml
from connexion.utils import get_function_from_name

from gateway.settings import REPO_ROOT
from web.operations import HTTP_METHODS, handler_name, handler_names
from web.published_spec import load

SPEC = load(REPO_ROOT / "openapi.yaml")
OPENAI_SPEC = REPO_ROOT / "tests" / "fixtures" / "openai-openapi-subset.yaml"


def operations(spec: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), path): item[method]
        for path, item in spec["paths"].items()
        for method in HTTP_METHODS
        if method in item
    }


@cache
def openai_operation_ids() -> dict[tuple[str, str], str]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    spec = yaml.load(OPENAI_SPEC.read_text(), Loader=loader)
    return {key: operation["operationId"] for key, operation in operations(spec).items()}


def test_an_operation_id_names_its_handler_in_the_module_of_its_tag() -> None:
    assert handler_name("createChatCompletion", "Chat") == "handlers.chat.create_chat_completion"
    assert handler_name("retrieveVideoContent", "Videos") == (
        "handlers.videos.retrieve_video_content"
    )
    assert handler_name("getUsage", "Usage") == "handlers.usage.get_usage"


def test_every_operation_has_a_handler_by_the_naming_rule() -> None:
    names = handler_names(SPEC)
    assert set(names) == {operation["operationId"] for operation in operations(SPEC).values()}
    for name in names.values():
        assert inspect.iscoroutinefunction(get_function_from_name(name)), name


def test_operations_openai_has_too_have_openai_s_operation_ids() -> None:
    """OpenAI's ids, first letter in lower case as in all of its others (`GetVideo` is
    `getVideo`)."""
    shared = operations(SPEC).keys() & openai_operation_ids().keys()
    assert len(shared) == 11
    for key in shared:
        theirs = openai_operation_ids()[key]
        assert operations(SPEC)[key]["operationId"] == theirs[0].lower() + theirs[1:], key


def test_operation_ids_are_unique_and_every_link_names_one() -> None:
    ids = [operation["operationId"] for operation in operations(SPEC).values()]
    assert len(ids) == len(set(ids))
    for operation in operations(SPEC).values():
        for response in operation["responses"].values():
            for link in response.get("links", {}).values():
                assert link["operationId"] in ids, link

"""What a local server's `GET /models` becomes in the catalog."""

from __future__ import annotations

from domain.catalog import entry_from_config
from providers.openai_compatible.model_lists import DISCOVERED_CAPABILITIES, discovered_rows

VLLM = {
    "object": "list",
    "data": [
        {
            "id": "Qwen/Qwen2.5-7B-Instruct",
            "object": "model",
            "created": 1767225600,
            "owned_by": "vllm",
            "root": "Qwen/Qwen2.5-7B-Instruct",
            "max_model_len": 32768,
        }
    ],
}
OLLAMA = {
    "object": "list",
    "data": [{"id": "llama3.2:latest", "object": "model", "created": 1, "owned_by": "library"}],
}
LLAMACPP = {
    "object": "list",
    "data": [{"id": "qwen2.5-0.5b-instruct-q8_0.gguf", "object": "model", "meta": {}}],
}


def test_a_vllm_model_is_its_id_under_the_prefix_with_its_context_length():
    [row] = discovered_rows(VLLM, "vllm", ["*"])
    entry = entry_from_config(row)
    assert entry.slug == "vllm/Qwen/Qwen2.5-7B-Instruct"
    assert entry.upstream_id == "Qwen/Qwen2.5-7B-Instruct"
    assert (entry.context_length, entry.max_output_tokens) == (32768, 32768)
    assert entry.owned_by == "vllm" and entry.created == 1767225600


def test_ollama_and_llamacpp_models_keep_their_ids_and_take_the_rows_plans():
    [ollama] = discovered_rows(OLLAMA, "ollama", ["pro", "team"])
    assert ollama["slug"] == "ollama/llama3.2:latest"
    assert ollama["plans"] == ["pro", "team"] and ollama["owned_by"] == "library"
    [llamacpp] = discovered_rows(LLAMACPP, "llamacpp", ["*"])
    assert llamacpp["slug"] == "llamacpp/qwen2.5-0.5b-instruct-q8_0.gguf"
    assert (llamacpp["owned_by"], llamacpp["created"]) == ("llamacpp", 0)
    assert "context_length" not in llamacpp


def test_a_discovered_model_is_offered_on_every_endpoint_of_an_openai_compatible_server():
    [row] = discovered_rows(OLLAMA, "ollama", ["*"])
    assert set(row["capabilities"]) == set(DISCOVERED_CAPABILITIES)
    assert {"chat", "completions", "embeddings"} <= set(DISCOVERED_CAPABILITIES)


def test_entries_without_an_id_are_skipped():
    payload = {"data": [{"id": ""}, {"object": "model"}, "text", {"id": 7}, {"id": "ok"}]}
    assert [row["slug"] for row in discovered_rows(payload, "vllm", ["*"])] == ["vllm/ok"]

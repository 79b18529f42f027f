"""Which settings a provider row lacks before it is configured."""

from __future__ import annotations

from providers.rows import is_configured, missing_settings

ANTHROPIC = {
    "name": "anthropic",
    "kind": "anthropic",
    "base_url": "https://api.anthropic.com",
    "base_url_env": "WMGW_ANTHROPIC_BASE_URL",
    "api_key_env": "WMGW_ANTHROPIC_API_KEY",
}
VLLM_ROW = {
    "name": "vllm",
    "kind": "openai_compatible",
    "base_url_env": "WMGW_VLLM_BASE_URL",
    "api_key_env": "WMGW_VLLM_API_KEY",
    "api_key_optional": True,
}


def test_a_remote_provider_lacks_only_its_key():
    assert missing_settings(ANTHROPIC, {}) == ("WMGW_ANTHROPIC_API_KEY",)
    assert missing_settings(ANTHROPIC, {"WMGW_ANTHROPIC_API_KEY": "k"}) == ()


def test_a_local_server_with_an_optional_key_needs_only_its_base_url():
    assert missing_settings(VLLM_ROW, {}) == ("WMGW_VLLM_BASE_URL",)
    assert is_configured(VLLM_ROW, {"WMGW_VLLM_BASE_URL": "http://127.0.0.1:8001/v1"})
    assert not is_configured({**VLLM_ROW, "api_key_optional": False}, {"WMGW_VLLM_BASE_URL": "x"})

"""The chat request every benchmark scenario sends: the gateway's API prefix, the model and the
messages."""

from __future__ import annotations

API = "/api/openai/v1"
MODEL = "openai/gpt-5-mini"
MESSAGES = [{"role": "user", "content": "Write sixteen words about load testing."}]

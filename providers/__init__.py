"""Upstream providers: pure translation between OpenAI-shaped objects and each upstream's wire
format, plus one shared HTTP transport. Providers are found by name in a registry."""

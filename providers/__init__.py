"""Upstream providers: one package per kind (its wire format), pure translation between
OpenAI-shaped objects and the upstream's, and the calls in one client module each; the kinds
and what each serves (kinds.py), the registry of configured rows, and the shared HTTP client
(http/)."""

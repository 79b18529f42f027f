"""Connexion 3.3 knows only the OpenAPI 2.0 and 3.0 meta-schemas (spec-first/connexion#1396)
and refuses `openapi: 3.1.0`. Its document check is skipped for 3.1 documents; the tests
validate ours with openapi-spec-validator instead. Others are checked as before.
"""

from __future__ import annotations

from typing import Any

from connexion.spec import OpenAPISpecification

CONNEXION_VALIDATE_SPEC = OpenAPISpecification._validate_spec.__func__  # type: ignore[attr-defined]


def _validate_unless_31(cls: type, spec: dict[str, Any]) -> None:
    if str(spec.get("openapi", "")).startswith("3.1"):
        return
    CONNEXION_VALIDATE_SPEC(cls, spec)


def allow_openapi_31() -> None:
    """Idempotent."""
    OpenAPISpecification._validate_spec = classmethod(_validate_unless_31)  # type: ignore[method-assign,assignment]

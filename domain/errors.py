"""The gateway's one error tree, rendered everywhere as OpenAI's error envelope.

    GatewayError                      status  type                    code
    ├── InvalidRequest                 400     invalid_request_error   (varies)
    ├── InvalidApiKey                  401     invalid_request_error   invalid_api_key
    ├── PermissionDenied               403     permission_error        (varies)
    ├── NotFound                       404     invalid_request_error   (varies)
    │   └── ModelNotFound              404     invalid_request_error   model_not_found
    ├── MethodNotAllowed               405     invalid_request_error   method_not_allowed
    ├── Conflict                       409     invalid_request_error   (varies)
    ├── PayloadTooLarge                413     invalid_request_error   request_too_large
    ├── UnsupportedMediaType           415     invalid_request_error   unsupported_media_type
    ├── QuotaExceeded                  429     insufficient_quota      insufficient_quota
    ├── RateLimited                    429     rate_limit_error        rate_limit_exceeded
    ├── InternalError                  500     server_error            internal_error
    ├── ServiceUnavailable             503     server_error            (varies: not ready)
    └── UpstreamError                  502     upstream_error          (varies)
        ├── UpstreamUnavailable        503     upstream_error          upstream_unavailable
        └── UpstreamTimeout            504     upstream_error          upstream_timeout

Statuses and types follow what OpenAI sends, so every SDK raises the exception class its
users already handle (docs/TRANSLATION.md lists them). Apart from the tree, CatalogError stops
the start of a gateway whose catalog file it could not serve.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Fault:
    """What went wrong upstream, for the gateway's retries and fallbacks (never sent)."""

    retryable: bool  # the same upstream may well succeed if asked again
    retry_after: float | None = None  # seconds the upstream asked us to wait
    status: int | None = None  # the upstream's HTTP status, when it answered one


class GatewayError(Exception):
    status = 500
    type = "server_error"
    code: str | None = None
    fault: Fault | None = None  # set when the upstream failed (not the caller, not us)

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }


class InvalidRequest(GatewayError):
    status = 400
    type = "invalid_request_error"


class InvalidApiKey(GatewayError):
    status = 401
    type = "invalid_request_error"
    code = "invalid_api_key"


class PermissionDenied(GatewayError):
    status = 403
    type = "permission_error"


class NotFound(GatewayError):
    status = 404
    type = "invalid_request_error"


class ModelNotFound(NotFound):
    code = "model_not_found"

    def __init__(self, model: str, message: str | None = None) -> None:
        """`message` says more when the gateway knows more (domain/model_hints.py)."""
        super().__init__(
            message or f"The model `{model}` does not exist or you do not have access to it.",
            param="model",
        )


class ModelNotSupported(NotFound):
    """A known model used on an endpoint it does not serve (an image model on chat), as
    OpenAI answers "This is not a chat model..."."""

    code = "model_not_supported"

    def __init__(self, model: str, endpoint: str) -> None:
        super().__init__(
            f"The model `{model}` does not support {endpoint}.",
            param="model",
        )


class MethodNotAllowed(GatewayError):
    status = 405
    type = "invalid_request_error"
    code = "method_not_allowed"


class Conflict(GatewayError):
    """The request conflicts with an earlier one (an `Idempotency-Key` already used). The
    SDKs retry 409 unless told not to, and retrying cannot change the answer."""

    status = 409
    type = "invalid_request_error"

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None):
        super().__init__(message, param=param, code=code, headers={"x-should-retry": "false"})


class PayloadTooLarge(GatewayError):
    status = 413
    type = "invalid_request_error"
    code = "request_too_large"


class UnsupportedMediaType(GatewayError):
    status = 415
    type = "invalid_request_error"
    code = "unsupported_media_type"


class QuotaExceeded(GatewayError):
    status = 429
    type = "insufficient_quota"
    code = "insufficient_quota"
    unit = "messages"  # the limit that refused it (messages, pool, images, video_seconds)


class RateLimited(GatewayError):
    status = 429
    type = "rate_limit_error"
    code = "rate_limit_exceeded"


class InternalError(GatewayError):
    status = 500
    type = "server_error"
    code = "internal_error"


class ServiceUnavailable(GatewayError):
    """The gateway itself cannot serve now (its database is unreachable or behind)."""

    status = 503
    type = "server_error"


class UpstreamError(GatewayError):
    status = 502
    type = "upstream_error"
    code = "upstream_error"


class UpstreamUnavailable(UpstreamError):
    status = 503
    code = "upstream_unavailable"


class UpstreamTimeout(UpstreamError):
    status = 504
    code = "upstream_timeout"


class CatalogError(ValueError):
    """A catalog file the gateway cannot serve (domain/catalog_checks.py): raised by the app
    factory, so the server does not start; never an answer to a request."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = tuple(problems)
        if len(problems) == 1:
            message = f"{source}: {problems[0]}"
        else:
            message = f"{source} has {len(problems)} problems:\n  " + "\n  ".join(problems)
        super().__init__(message)

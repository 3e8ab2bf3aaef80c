"""The one error tree of the gateway.

Every failure is a ``GatewayError``. It is raised inbound (request parsing, auth, limits, and the provider
error maps that turn upstream replies into these classes) and translated exactly once outbound, in
``opentoken.http.errors``, into an OpenAI ``ErrorResponse`` body and HTTP status.

    GatewayError                         500 server_error
    ├── InvalidRequest                   400 invalid_request_error
    │   ├── ModelNotFound                400 model_not_found (unregistered or disabled model id: no upstream call)
    │   ├── ModelRetired                 410 model_retired (retired model, refused by the operator's policy)
    │   ├── UnsupportedParameter         400 unsupported_parameter (cannot be honoured for this model)
    │   └── RequestTooLarge              413 request_too_large
    ├── AuthenticationFailed             401 invalid_api_key
    ├── PermissionDenied                 403 permission_denied
    │   └── ModelNotAllowed              403 model_not_allowed (key may not use this model)
    ├── NotFound                         404 not_found
    ├── RateLimited                      429 rate_limit_exceeded (+ Retry-After, x-ratelimit-*)
    ├── QuotaExceeded                    429 insufficient_quota (x-should-retry: false)
    ├── Overloaded                       503 overloaded (gateway draining or at capacity)
    └── UpstreamError                    an upstream (provider) failure, mapped per provider
        ├── UpstreamBadRequest           400 the provider rejected the request as invalid
        ├── UpstreamNotFound             404 model_not_found (the provider does not know the model)
        ├── UpstreamCredentialsRejected  502 provider rejected the gateway's credentials (never the client's key)
        ├── UpstreamRateLimited          429 rate_limit_exceeded (provider Retry-After kept)
        ├── UpstreamOverloaded           503 overloaded
        ├── UpstreamServerError          502 upstream_error
        ├── UpstreamTimeout              504 timeout
        ├── UpstreamConnectionError      502 upstream_unreachable
        └── UpstreamProtocolError        502 upstream_protocol_error (a reply we could not read)

``retryable`` tells the router whether another attempt (same or another deployment) may succeed.

Where a request error points into the request, it says so in one of two ways. An ingress codec, which knows
its own wire syntax, sets ``param`` directly (``messages[2].role``). Everything below the ingress (catalog,
pipeline, providers, media) sets ``loc``, a neutral path over the canonical request's own field names
(``("messages", 3, "tool_calls", 1, "arguments")``), and the ingress that parsed the request renders it in
its syntax (``messages[3].tool_calls[1].function.arguments`` for OpenAI Chat Completions).
"""

from __future__ import annotations

from collections.abc import Mapping

Loc = tuple[str | int, ...]  # a neutral location in the canonical request (see the module docstring)


class GatewayError(Exception):
    status: int = 500
    type: str = "server_error"
    code: str | None = "internal_error"
    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        loc: Loc | None = None,
        code: str | None = None,
        retry_after: float | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.loc = loc
        if code is not None:
            self.code = code
        self.retry_after = retry_after
        self.headers: dict[str, str] = dict(headers or {})
        self.attempts = 1  # upstream attempts made before this error was final (set by the router)

    def __repr__(self) -> str:
        where = f"param={self.param!r}" if self.loc is None else f"loc={self.loc!r}"
        return f"{type(self).__name__}({self.message!r}, {where}, code={self.code!r})"


class InvalidRequest(GatewayError):
    status = 400
    type = "invalid_request_error"
    code = "invalid_request"


class ModelNotFound(InvalidRequest):
    code = "model_not_found"


class ModelRetired(InvalidRequest):
    """The model is past its retirement date and the gateway refuses it; the message names the successor."""

    status = 410
    code = "model_retired"


class UnsupportedParameter(InvalidRequest):
    code = "unsupported_parameter"


class RequestTooLarge(InvalidRequest):
    status = 413
    code = "request_too_large"


class AuthenticationFailed(GatewayError):
    status = 401
    type = "invalid_request_error"
    code = "invalid_api_key"


class PermissionDenied(GatewayError):
    status = 403
    type = "permission_error"
    code = "permission_denied"


class ModelNotAllowed(PermissionDenied):
    code = "model_not_allowed"


class NotFound(GatewayError):
    status = 404
    type = "invalid_request_error"
    code = "not_found"


class RateLimited(GatewayError):
    status = 429
    type = "rate_limit_error"
    code = "rate_limit_exceeded"


class QuotaExceeded(GatewayError):
    status = 429
    type = "insufficient_quota"
    code = "insufficient_quota"


class Overloaded(GatewayError):
    status = 503
    type = "server_error"
    code = "overloaded"
    retryable = True


class UpstreamError(GatewayError):
    status = 502
    type = "server_error"
    code = "upstream_error"


class UpstreamBadRequest(UpstreamError):
    status = 400
    type = "invalid_request_error"
    code = "invalid_request"


class UpstreamNotFound(UpstreamError):
    status = 404
    type = "invalid_request_error"
    code = "model_not_found"


class UpstreamCredentialsRejected(UpstreamError):
    status = 502
    code = "upstream_credentials_rejected"


class UpstreamRateLimited(UpstreamError):
    status = 429
    type = "rate_limit_error"
    code = "rate_limit_exceeded"
    retryable = True


class UpstreamOverloaded(UpstreamError):
    status = 503
    code = "overloaded"
    retryable = True


class UpstreamServerError(UpstreamError):
    status = 502
    code = "upstream_error"
    retryable = True


class UpstreamTimeout(UpstreamError):
    status = 504
    code = "timeout"
    retryable = True


class UpstreamConnectionError(UpstreamError):
    status = 502
    code = "upstream_unreachable"
    retryable = True


class UpstreamProtocolError(UpstreamError):
    status = 502
    code = "upstream_protocol_error"

"""The HTTP layer: the app factory, middleware, error rendering, metered answers (JSON or
SSE), multipart forms, Idempotency-Key, request logs and metrics, the published spec and its
reference page, every patch of Connexion's internals (connexion_compat/), the console."""

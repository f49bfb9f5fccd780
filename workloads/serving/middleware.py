"""Request ids, per-route latency metrics and one JSON access-log line per request."""

from __future__ import annotations

import itertools
import time
import uuid

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from workloads.serving.observability import ServingMetrics


class RequestMiddleware:
    """Plain ASGI (no BaseHTTPMiddleware): it sits on every request's hot path."""

    def __init__(self, app: ASGIApp, metrics: ServingMetrics) -> None:
        self._app = app
        self._metrics = metrics
        # Bound once: the module-level lazy proxy would rebuild the logger per request.
        self._log = structlog.get_logger("rtap.access").bind()
        # Unique ids without a system call per request (uuid4 reads os.urandom): a random
        # prefix per process, then a counter.
        self._id_prefix = uuid.uuid4().hex[:12] + "-"
        self._ids = itertools.count(1)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming[:64] if incoming else f"{self._id_prefix}{next(self._ids):x}"
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self._app(scope, receive, send_with_id)
            finally:
                elapsed = time.perf_counter() - started
                route = getattr(scope.get("route"), "path", "unmatched")
                self._metrics.request_seconds.labels(route, scope["method"], str(status)).observe(
                    elapsed
                )
                self._log.info(
                    "request",
                    method=scope["method"],
                    route=route,
                    status=status,
                    ms=round(elapsed * 1000, 2),
                )

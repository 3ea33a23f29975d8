"""The hub's HTTP application (Starlette): the reports protocol under / (kiosk.hub.receiver), the staff's
pages (kiosk.hub.staff), and what machines ask: /metrics, /healthz, the stylesheet.

Every refusal is a 4xx with a one-line JSON reason; an unavailable database is a 503 with Retry-After
(boards back off and send again); anything else a 500 that says to read the journal, never a traceback.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from kiosk.hub import auth, fleet, metrics, pages
from kiosk.hub.config import HubConfig
from kiosk.hub.database import DatabaseError
from kiosk.hub.published import Published
from kiosk.hub.receiver import Receiver
from kiosk.hub.staff import Staff
from kiosk.hub.store import Store
from kiosk.hub.web import Refused, SecurityHeaders

log = logging.getLogger("kiosk.hub")

DB_RETRY_AFTER = "30"


class Hub:
    """One running hub: its config and store, the boards' side, the staff's side, the counters."""

    def __init__(self, cfg: HubConfig, store: Store, clock: Callable[[], float] = time.time):
        self.cfg, self.store, self.clock = cfg, store, clock
        self.counters = metrics.Counters()
        self.published = Published(cfg.content_manifest)
        self.receiver = Receiver(cfg, store, self.counters, clock)
        self.staff = Staff(cfg, store, self.fleet, self.published, clock)
        self.collector = metrics.HubCollector(self.fleet, self.counters)

    def fleet(self) -> tuple[list[fleet.View], str | None]:
        latest = self.published.latest()
        now = self.clock()
        return [fleet.view(b, now, self.cfg.boards, latest) for b in self.store.boards()], latest

    # --- the application ------------------------------------------------------------------------------

    def app(self) -> Starlette:
        routes = [
            *self.receiver.routes(),
            Route("/metrics", self.metrics, methods=["GET"]),
            Route("/healthz", self.healthz, methods=["GET"]),
            Route("/static/hub.css", self.css, methods=["GET"]),
            *self.staff.routes(),
        ]
        app = Starlette(routes=routes, exception_handlers={Refused: self._refused, Exception: self._failed})
        app.add_middleware(SecurityHeaders)
        return app

    async def _refused(self, request: Request, exc: Refused) -> Response:
        if request.url.path.startswith("/devices/"):
            self.counters.add("refused", status=str(exc.status))
        return JSONResponse({"error": exc.message}, status_code=exc.status, headers=exc.headers)

    async def _failed(self, request: Request, exc: Exception) -> Response:
        if isinstance(exc, DatabaseError) or type(exc).__module__.split(".")[0] in ("sqlite3", "psycopg"):
            log.error("database: %s (answering 503)", exc)
            return JSONResponse({"error": "the hub's database is unavailable; try again later"}, status_code=503,
                                headers={"Retry-After": DB_RETRY_AFTER})
        log.exception("hub: unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse({"error": "internal error (see the hub's journal)"}, status_code=500)

    # --- machines: metrics, health, the stylesheet ---------------------------------------------------------

    async def metrics(self, request: Request) -> Response:
        if self.cfg.metrics_token_file is not None:
            from kiosk.source.client import TokenError, read_token

            try:
                expected = read_token(self.cfg.metrics_token_file, "metrics.token_file")
            except TokenError as exc:
                log.error("%s", exc)
                raise Refused(503, "metrics.token_file cannot be read (see the hub's journal)") from None
            given = auth.bearer(request.headers.get("authorization")) or ""
            if not auth.token_matches(given, auth.token_hash(expected)):
                raise Refused(401, "metrics need the bearer token of metrics.token_file",
                              {"WWW-Authenticate": 'Bearer realm="kiosk-hub"'})
        body = await run_in_threadpool(metrics.exposition, self.collector)
        return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")

    async def healthz(self, request: Request) -> Response:
        try:
            count = await run_in_threadpool(self.store.board_count)
        except Exception as exc:  # noqa: BLE001 - the verdict is the answer
            return JSONResponse({"status": "degraded", "database": str(exc)}, status_code=503)
        return JSONResponse({"status": "healthy", "database": self.store.db.description, "boards": count})

    async def css(self, request: Request) -> Response:
        return Response(pages.stylesheet(), media_type="text/css; charset=utf-8",
                        headers={"Cache-Control": "max-age=3600"})



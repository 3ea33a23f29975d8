"""The reports protocol at the hub (docs/reports.md): `POST /devices/<id>/heartbeat | plays | screenshot`.

Order of the checks, cheapest first, so a stranger or a flooding board costs almost nothing: the id's
shape, the board's own bearer token (401), the board's rate (429), the declared size (413), then the
body, read up to its limit and checked whole by kiosk.hub.protocol (400, 413, 415, 422). Nothing is
stored unless the whole body is good; the database work runs in a worker thread and is committed
before the answer (a board deletes its plays after the 2xx).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from kiosk.hub import auth, protocol
from kiosk.hub.config import HubConfig
from kiosk.hub.metrics import Counters
from kiosk.hub.store import Store
from kiosk.hub.web import RateLimit, Refused, read_body

BOARD_ID = re.compile(r"^[a-z0-9-]{1,100}$")


class Receiver:
    def __init__(self, cfg: HubConfig, store: Store, counters: Counters, clock: Callable[[], float] = time.time):
        self.cfg, self.store, self.counters, self.clock = cfg, store, counters, clock
        self.limits = RateLimit(cfg.limits.requests_per_minute)

    def routes(self) -> list[Route]:
        return [
            Route("/devices/{board}/heartbeat", self.heartbeat, methods=["POST"]),
            Route("/devices/{board}/plays", self.plays, methods=["POST"]),
            Route("/devices/{board}/screenshot", self.screenshot_upload, methods=["POST"]),
        ]

    async def _board_request(self, request: Request, limit: int) -> tuple[str, bytes]:
        board = request.path_params["board"]
        token = auth.bearer(request.headers.get("authorization"))
        if not BOARD_ID.match(board) or not token or not await run_in_threadpool(
                self.store.authenticate, board, token):
            raise Refused(401, "unknown board or wrong token", {"WWW-Authenticate": 'Bearer realm="kiosk-hub"'})
        wait = self.limits.take(board)
        if wait is not None:
            raise Refused(429, "too many requests from this board", {"Retry-After": str(max(1, round(wait)))})
        return board, await read_body(request, limit)

    async def heartbeat(self, request: Request) -> Response:
        board, body = await self._board_request(request, self.cfg.limits.heartbeat_bytes)
        hb = _parsed(protocol.parse_heartbeat, body, board)
        commands = await run_in_threadpool(self.store.record_heartbeat, board, hb, self.clock())
        self.counters.add("heartbeats")
        return JSONResponse({"commands": commands} if commands else {})

    async def plays(self, request: Request) -> Response:
        board, body = await self._board_request(request, self.cfg.limits.plays_bytes)
        plays = _parsed(protocol.parse_plays, body, board, self.cfg.limits.plays_per_request)
        new, duplicates = await run_in_threadpool(self.store.add_plays, board, plays, self.clock())
        self.counters.add("plays", new, result="new")
        self.counters.add("plays", duplicates, result="duplicate")
        return JSONResponse({"accepted": new, "duplicates": duplicates})

    async def screenshot_upload(self, request: Request) -> Response:
        board, body = await self._board_request(request, self.cfg.limits.screenshot_bytes)
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind != "image/png":
            raise Refused(415, f"expected Content-Type: image/png, got {kind[:40] or 'none'!r}")
        try:
            await run_in_threadpool(protocol.check_png, body)
        except protocol.BadReport as exc:
            raise Refused(exc.status, exc.message) from None
        await run_in_threadpool(self.store.save_screenshot, board, body, self.clock())
        self.counters.add("screenshots")
        return Response(status_code=204)


def _parsed(parse, *args):
    try:
        return parse(*args)
    except protocol.BadReport as exc:
        raise Refused(exc.status, exc.message) from None



"""The staff's side of the hub: sign-in, the fleet page, a board's page and its commands, statistics.

A session cookie (HttpOnly, SameSite=Lax, Secure with web.secure_cookies) from /login, stored hashed;
forms carry the session's CSRF token; viewers read, operators may also queue commands. Scripts fetch
the statistics files with HTTP Basic. Pages are rendered by kiosk.hub.pages, in Vietnamese.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import threading
import time
from collections.abc import Callable
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from kiosk.hub import auth, fleet, pages, statistics
from kiosk.hub.config import HubConfig
from kiosk.hub.published import Published
from kiosk.hub.store import COMMAND_NAMES, Session, Store, UnknownBoard, day_of
from kiosk.hub.web import Refused, local, read_form

log = logging.getLogger("kiosk.hub")

COOKIE = "kiosk_hub_session"
LOGIN_FAILURES = 10  # per address within LOGIN_WINDOW, then 429
LOGIN_WINDOW = 600.0


class Staff:
    def __init__(self, cfg: HubConfig, store: Store, views: Callable[[], tuple[list[fleet.View], str | None]],
                 published: Published, clock: Callable[[], float] = time.time):
        self.cfg, self.store, self.fleet, self.published, self.clock = cfg, store, views, published, clock
        self.pages = pages.Pages(cfg.zone)
        self._login_failures: dict[str, list[float]] = {}
        self._login_lock = threading.Lock()

    def routes(self) -> list[Route]:
        return [
            Route("/login", self.login_page, methods=["GET"]),
            Route("/login", self.login, methods=["POST"]),
            Route("/logout", self.logout, methods=["POST"]),
            Route("/", self.fleet_page, methods=["GET"]),
            Route("/boards/{board}", self.board_page, methods=["GET"]),
            Route("/boards/{board}/screenshot.png", self.screenshot_png, methods=["GET"]),
            Route("/boards/{board}/commands", self.command, methods=["POST"]),
            Route("/stats", self.stats_page, methods=["GET"]),
            Route("/stats/{what}.{fmt}", self.stats_file, methods=["GET"]),
        ]

    async def _user(self, request: Request, operator: bool = False) -> Session:
        """The signed-in staff member; otherwise a redirect to /login (pages) or 401 (files)."""
        session = await run_in_threadpool(self.store.session, request.cookies.get(COOKIE), self.clock())
        if session is None:
            session = await self._basic(request)
        if session is None:
            if request.method == "GET" and not request.url.path.startswith("/stats/"):
                raise _Redirect("/login?" + urlencode({"next": local(request.url.path, request.url.query)}))
            raise Refused(401, "sign in first", {"WWW-Authenticate": 'Basic realm="kiosk-hub", charset="UTF-8"'})
        if operator and session.role != "operator":
            raise Refused(403, "only operators may send commands to boards")
        return session

    async def _basic(self, request: Request) -> Session | None:
        """HTTP Basic for scripts fetching statistics (curl -u): no session kept."""
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("basic "):
            return None
        try:
            name, _, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        user = await run_in_threadpool(self._check_user, name, password, request)
        return Session(user=name, role=user, csrf="") if user else None

    def _check_user(self, name: str, password: str, request: Request) -> str | None:
        self._throttle(request)
        with self.store.db.tx(write=False) as tx:
            row = tx.one("SELECT password_hash, role FROM users WHERE name = ?", (name,))
        if not auth.check_password(password, row[0] if row else auth.DUMMY_HASH) or row is None:
            self._failure(request)
            return None
        return row[1]

    def _throttle(self, request: Request) -> None:
        host = request.client.host if request.client else "?"
        now = time.monotonic()
        with self._login_lock:
            recent = [t for t in self._login_failures.get(host, []) if now - t < LOGIN_WINDOW]
            self._login_failures[host] = recent
        if len(recent) >= LOGIN_FAILURES:
            raise Refused(429, "too many failed sign-ins from this address; wait a few minutes",
                          {"Retry-After": str(int(LOGIN_WINDOW))})

    def _failure(self, request: Request) -> None:
        host = request.client.host if request.client else "?"
        with self._login_lock:
            self._login_failures.setdefault(host, []).append(time.monotonic())

    async def login_page(self, request: Request) -> Response:
        return self._html("login.html", user=None, error=None, name="",
                          next=local(request.query_params.get("next", "/")))

    async def login(self, request: Request) -> Response:
        form = await read_form(request)
        name, password = form.get("user", "").strip().lower(), form.get("password", "")
        target = local(form.get("next", "/"))
        try:
            await run_in_threadpool(self._throttle, request)
        except Refused as exc:
            return self._html("login.html", status=429, user=None, error="Đăng nhập sai quá nhiều lần, "
                              "vui lòng thử lại sau ít phút.", name=name, next=target, headers=exc.headers)
        token = await run_in_threadpool(self.store.sign_in, name, password, self.clock(), self.cfg.web.session_hours)
        if token is None:
            self._failure(request)
            log.warning("hub: failed sign-in for %r from %s", name[:64], request.client.host if request.client else "?")
            return self._html("login.html", status=401, user=None, error="Sai tên đăng nhập hoặc mật khẩu.",
                              name=name, next=target)
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(COOKIE, token, max_age=int(self.cfg.web.session_hours * 3600), httponly=True,
                            samesite="lax", secure=self.cfg.web.secure_cookies, path="/")
        return response

    async def logout(self, request: Request) -> Response:
        form = await read_form(request)
        token = request.cookies.get(COOKIE)
        session = await run_in_threadpool(self.store.session, token, self.clock())
        if session is not None and form.get("csrf") == session.csrf:
            await run_in_threadpool(self.store.sign_out, token)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    # --- staff: pages ---------------------------------------------------------------------------------------

    async def fleet_page(self, request: Request) -> Response:
        user = await self._guarded(request)
        if isinstance(user, Response):
            return user
        views, latest = await run_in_threadpool(self.fleet)
        params = request.query_params
        filters = {k: params.get(k, "") for k in ("q", "state", "commune", "content")}
        chosen = fleet.select(views, filters["state"] or None, filters["commune"] or None, filters["q"] or None,
                              filters["content"] or None)
        sort = params.get("sort") if params.get("sort") in fleet.SORT_KEYS else "state"
        desc = params.get("desc") == "1"
        chosen = fleet.order(chosen, sort, desc)

        def query(**change) -> str:
            merged = {**{k: v for k, v in filters.items() if v}, "sort": sort, "desc": "1" if desc else ""}
            merged.update({k: str(v) for k, v in change.items()})
            return urlencode({k: v for k, v in merged.items() if v and v != "0"})

        communes = sorted({v.board.commune for v in views if v.board.commune}, key=fleet.vietnamese_key)
        now = self.clock()
        rows = [self.pages.fleet_row(v, now) for v in chosen]
        return self._html("fleet.html", user=user, rows=rows, counts=fleet.counts(views), total=len(views),
                          latest=latest, filters=filters, communes=communes, sort=sort, desc=desc, query=query,
                          filtered=any(filters.values()), refresh=60)

    async def board_page(self, request: Request) -> Response:
        user = await self._guarded(request)
        if isinstance(user, Response):
            return user
        board_id = request.path_params["board"]
        data = await run_in_threadpool(self._board_data, board_id)
        if data is None:
            return self._html("notfound.html", status=404, user=user, board=board_id)
        pending = any(c.state == "queued" or (c.state == "sent" and self.clock() - c.sent_at < pages.COMMAND_NO_ANSWER)
                      for c in data["commands"])
        return self._html("board.html", user=user, can_command=user.role == "operator", now=self.clock(),
                          refresh=3 if pending else 60, **data)

    def _board_data(self, board_id: str) -> dict | None:
        board = self.store.board(board_id)
        if board is None:
            return None
        now = self.clock()
        latest = self.published.latest()
        since = day_of(now - 29 * 86400, self.cfg.zone)
        days = []
        query = statistics.Query("day", since, day_of(now, self.cfg.zone), board=board_id)
        for day, online, beats in self.store.days(board_id, since):
            watched = statistics.watched_seconds(day, query, board.first_seen, now, self.cfg.zone)
            days.append({"day": day, "pct": min(100.0, 100 * online / watched) if watched > 0 else 0.0,
                         "heartbeats": beats})
        shot = self.store.screenshot_time(board_id)
        return {"v": fleet.view(board, now, self.cfg.boards, latest), "latest": latest, "days": days[::-1],
                "events": self.store.events(board_id), "commands": self.store.commands(board_id), "shot": shot}

    async def screenshot_png(self, request: Request) -> Response:
        user = await self._guarded(request)
        if isinstance(user, Response):
            return user
        shot = await run_in_threadpool(self.store.screenshot, request.path_params["board"])
        if shot is None:
            return Response(status_code=404)
        return Response(shot[1], media_type="image/png",
                        headers={"Cache-Control": "private, no-store", "Content-Disposition": "inline"})

    async def command(self, request: Request) -> Response:
        user = await self._user(request, operator=True)
        form = await read_form(request)
        if not user.csrf or form.get("csrf") != user.csrf:
            raise Refused(403, "the form is stale; reload the page")
        name = form.get("name", "")
        if name not in COMMAND_NAMES:
            raise Refused(422, f"unknown command {name[:40]!r}")
        board_id = request.path_params["board"]
        try:
            cid = await run_in_threadpool(self.store.queue_command, board_id, name, user.user, self.clock())
        except UnknownBoard:
            raise Refused(404, f"no board {board_id[:100]!r}") from None
        log.info("hub: %s queued %s (c-%d) for %s", user.user, name, cid, board_id)
        return RedirectResponse(f"/boards/{board_id}", status_code=303)

    async def stats_page(self, request: Request) -> Response:
        user = await self._guarded(request)
        if isinstance(user, Response):
            return user
        params = dict(request.query_params)
        today = dt.datetime.fromtimestamp(self.clock(), self.cfg.zone).date()
        try:
            q = statistics.parse_query(params, today)
        except statistics.BadQuery as exc:
            q = statistics.parse_query({}, today)
            return self._html("stats.html", status=400, user=user, q=q, error=str(exc), qs="", plays=[], uptime=[])
        play_rows, uptime_rows = await run_in_threadpool(self._stats, q)
        qs = urlencode({k: v for k, v in params.items() if v})
        return self._html("stats.html", user=user, q=q, error=None, qs=qs, plays=play_rows, uptime=uptime_rows)

    def _stats(self, q: statistics.Query) -> tuple[list[dict], list[dict]]:
        return statistics.plays(self.store, q), statistics.uptime(self.store, q, self.clock(), self.cfg.zone)

    async def stats_file(self, request: Request) -> Response:
        await self._user(request)
        what, fmt = request.path_params["what"], request.path_params["fmt"]
        if what not in ("plays", "uptime") or fmt not in ("csv", "json"):
            raise Refused(404, "expected /stats/plays.csv, plays.json, uptime.csv or uptime.json")
        today = dt.datetime.fromtimestamp(self.clock(), self.cfg.zone).date()
        try:
            q = statistics.parse_query(dict(request.query_params), today)
        except statistics.BadQuery as exc:
            raise Refused(400, str(exc)) from None
        if what == "plays":
            rows = await run_in_threadpool(statistics.plays, self.store, q)
            headers = statistics.PLAY_HEADERS
        else:
            rows = await run_in_threadpool(statistics.uptime, self.store, q, self.clock(), self.cfg.zone)
            headers = statistics.UPTIME_HEADERS
        if fmt == "json":
            body = {"period": q.period, "from": q.first_day, "to": q.last_day, "group": q.group, "rows": rows}
            return Response(json.dumps(body, ensure_ascii=False).encode("utf-8"),
                            media_type="application/json; charset=utf-8")
        name = f"kiosk-{what}-{q.period}-{q.first_day}-{q.last_day}.csv"
        return Response(statistics.to_csv(rows, headers), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    async def _guarded(self, request: Request) -> Session | Response:
        try:
            return await self._user(request)
        except _Redirect as redirect:
            return RedirectResponse(redirect.location, status_code=303)

    def _html(self, template: str, status: int = 200, headers: dict | None = None, **context) -> Response:
        context.setdefault("refresh", None)
        return HTMLResponse(self.pages.render(template, **context), status_code=status, headers=headers)




class _Redirect(Exception):
    def __init__(self, location: str):
        super().__init__(location)
        self.location = location



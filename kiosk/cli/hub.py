"""`kiosk hub …`: the province's receiver and fleet page, and the commands that look after its boards and staff.

    kiosk hub -c hub.yaml                                   serve (docs/hub.md)
    kiosk hub add-board ID --name NAME [--commune NAME]     register a board; its token is the last line
    kiosk hub revoke-board ID                               its token stops working at once
    kiosk hub list-boards                                   one line per board
    kiosk hub check-config                                  validate hub.yaml (exit 2 with FILE:LINE: …)
    kiosk hub add-user NAME [--role viewer|operator]        a staff member (password from stdin or asked)
    kiosk hub remove-user NAME

The web stack is an optional extra; without it this says, in one line, what to install.
"""

from __future__ import annotations

import argparse
import getpass
import re
import sys
import time

from kiosk.config import DEVICE_ID

ROLES = ("viewer", "operator")  # viewers read; operators may also send commands to boards
HUB_EXTRA = "pip install 'kiosk[hub]'"


def add_parser(sub, common: argparse.ArgumentParser) -> None:
    hub = sub.add_parser("hub", parents=[common], help="the province side: receive reports, show the fleet",
                         description="Without a sub-command: serve the hub (see docs/hub.md).")
    commands = hub.add_subparsers(dest="hub_command", metavar="SUBCOMMAND")
    add = commands.add_parser("add-board", parents=[common], help="register a board and print its token")
    add.add_argument("id", help="the board's device.id")
    add.add_argument("--name", required=True, help="its name, e.g. 'UBND xã An Khương'")
    add.add_argument("--commune", help="its commune or ward, for filters and statistics")
    revoke = commands.add_parser("revoke-board", parents=[common], help="revoke a board's token")
    revoke.add_argument("id")
    commands.add_parser("list-boards", parents=[common], help="list the registered boards")
    commands.add_parser("check-config", parents=[common], help="validate hub.yaml")
    user = commands.add_parser("add-user", parents=[common], help="add a staff member, or reset a password")
    user.add_argument("name")
    user.add_argument("--role", choices=ROLES, default="viewer",
                      help="viewer: reads; operator: may also send commands to boards (default viewer)")
    remove = commands.add_parser("remove-user", parents=[common], help="remove a staff member")
    remove.add_argument("name")


def main(args: argparse.Namespace) -> int:
    from kiosk.hub import config as hubconfig

    try:
        cfg = hubconfig.load(hubconfig.find(args.config))
    except ImportError as exc:  # pragma: no cover - only without the extra
        return _missing(exc)
    command = args.hub_command or "serve"
    if command == "check-config":
        print(f"{cfg.file}: OK (listen {cfg.host}:{cfg.port}, database {_redacted(cfg.database.url)})")
        return 0
    try:
        if command == "serve":
            return _serve(cfg)
        from kiosk.hub.database import DatabaseError
        from kiosk.hub.server import open_store
    except ImportError as exc:
        return _missing(exc)
    try:
        store = open_store(cfg)
    except DatabaseError as exc:
        print(exc, file=sys.stderr)
        return 1
    try:
        return _manage(command, args, store)
    finally:
        store.db.close()


def _serve(cfg) -> int:
    try:
        import jinja2  # noqa: F401
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        return _missing(exc)
    from kiosk.hub.database import DatabaseError
    from kiosk.hub.server import serve

    try:
        return serve(cfg)
    except DatabaseError as exc:
        print(exc, file=sys.stderr)
        return 1


def _redacted(url: str) -> str:
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def _missing(exc: ImportError) -> int:
    print(f"kiosk hub needs {exc.name or 'its web stack'}, which is not installed: {HUB_EXTRA}", file=sys.stderr)
    return 1


def _manage(command: str, args: argparse.Namespace, store) -> int:
    from kiosk.hub import auth
    from kiosk.hub.store import BoardExists, UnknownBoard

    now = time.time()
    if command == "add-board":
        if not DEVICE_ID.match(args.id) or len(args.id) > 100:
            print(f"{args.id!r}: a board id uses only a-z, 0-9 and '-' (its device.id)", file=sys.stderr)
            return 2
        name, commune = args.name.strip(), (args.commune or "").strip() or None
        if not name:
            print("--name must not be empty", file=sys.stderr)
            return 2
        try:
            token = store.add_board(args.id, name, commune, now)
        except BoardExists:
            print(f"board {args.id} is already registered; `kiosk hub revoke-board {args.id}` first to issue "
                  "a new token", file=sys.stderr)
            return 2
        print(f"board {args.id} ({name}) registered. Put this token on the board, alone on the first line of "
              "its source.token_file; it is shown only this once:")
        print(token)
        return 0
    if command == "revoke-board":
        try:
            store.revoke_board(args.id, now)
        except UnknownBoard:
            print(f"no board {args.id!r} (see kiosk hub list-boards)", file=sys.stderr)
            return 2
        print(f"board {args.id}: token revoked; its reports are refused from now on (history kept)")
        return 0
    if command == "list-boards":
        for board in store.boards():
            seen = time.strftime("%Y-%m-%d %H:%M", time.localtime(board.last_seen)) if board.last_seen else "never seen"
            state = "revoked" if board.revoked else seen
            print(f"{board.id}\t{board.name}\t{board.commune or '-'}\t{state}")
        return 0
    if command == "add-user":
        name = args.name.strip().lower()
        if not auth.USER_NAME.match(name):
            print(f"{args.name!r}: a user name is 1-64 of a-z, 0-9, '.', '_', '-'", file=sys.stderr)
            return 2
        password = _password()
        problem = auth.password_problem(password)
        if problem:
            print(problem, file=sys.stderr)
            return 2
        created = store.set_user(name, password, args.role, now)
        print(f"user {name} ({args.role}) {'added' if created else 'updated; their sessions were signed out'}")
        return 0
    if command == "remove-user":
        if not store.remove_user(args.name.strip().lower()):
            print(f"no user {args.name!r}", file=sys.stderr)
            return 2
        print(f"user {args.name} removed")
        return 0
    raise AssertionError(command)


def _password() -> str:
    """Asked twice on a terminal; otherwise the first line of stdin (for scripts)."""
    if sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if getpass.getpass("again: ") != first:
            print("the two passwords differ", file=sys.stderr)
            raise SystemExit(2)
        return first
    return sys.stdin.readline().rstrip("\r\n")

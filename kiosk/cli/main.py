"""The `kiosk` command (SPEC: Commands). Thin: parse arguments, call one module, map errors to exit codes."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
from pathlib import Path

from kiosk import config as configmod
from kiosk.problems import InvalidInput
from kiosk.version import __version__

log = logging.getLogger("kiosk")


def _parser() -> argparse.ArgumentParser:
    config_help = "config file (default: ./config.yaml, then /etc/kiosk/config.yaml)"
    # -c works before or after the command; the command's copy must not overwrite the top-level one.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-c", "--config", default=argparse.SUPPRESS, help=config_help)
    parser = argparse.ArgumentParser(prog="kiosk", description="Player for public electronic bulletin boards.")
    parser.add_argument("-c", "--config", default=None, help=config_help)
    parser.add_argument("--version", action="version", version=f"kiosk {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    sub.add_parser("run", parents=[common], help="play fullscreen, sync, serve health, report")
    sub.add_parser("check-config", parents=[common], help="validate the config file")
    render = sub.add_parser("render", parents=[common], help="render what would play, to PNG files")
    render.add_argument("--out", required=True, help="folder for the PNG files")
    render.add_argument("--at", help="a moment, ISO 8601 (local time unless it has an offset); default now")
    render.add_argument("--size", help="WIDTHxHEIGHT (default: display.size, or 1920x1080)")
    sync = sub.add_parser("sync", parents=[common], help="synchronise content with the source")
    sync.add_argument("--once", action="store_true", required=True, help="one sync cycle, then exit")
    publish = sub.add_parser("publish", parents=[common], help="turn an authoring folder into a content tree")
    publish.add_argument("src", help="authoring folder (with programme.yaml)")
    publish.add_argument("out", help="content tree folder, served by a web server")
    publish.add_argument("--key", help="Ed25519 private key (from kiosk keygen) to sign the manifest")
    keygen = sub.add_parser("keygen", parents=[common], help="write an Ed25519 key pair for signing content")
    keygen.add_argument("out", help="private key file; the public key goes to OUT.pub")
    sub.add_parser("status", parents=[common], help="ask the running player how it is")
    from kiosk.cli import hub

    hub.add_parser(sub, common)
    return parser


def _load_config(args: argparse.Namespace) -> configmod.Config:
    path = configmod.find(args.config)
    if not path.is_file():
        raise InvalidInput([configmod.problem_for_missing(path)])
    return configmod.load(path)


def _parse_at(text: str | None, timezone: str) -> dt.datetime:
    from kiosk import clock

    return clock.parse_instant(text, timezone)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from kiosk import log as logsetup

    logsetup.setup()
    try:
        return _dispatch(args)
    except InvalidInput as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "check-config":
        path = configmod.find(args.config)
        if not path.is_file():
            print(configmod.problem_for_missing(path), file=sys.stderr)
            return 2
        cfg = configmod.load(path)
        for warning in cfg.warnings:
            print(warning, file=sys.stderr)
        print(f"{path}: OK (device {cfg.device.id}, {cfg.device.name})")
        return 0
    if args.command == "keygen":
        from kiosk.source import signing

        private, public = signing.keygen(Path(args.out))
        print(f"private key: {private}\npublic key:  {public}")
        return 0
    if args.command == "publish":
        from kiosk.source import publish

        print(publish.publish(Path(args.src), Path(args.out), Path(args.key) if args.key else None))
        return 0
    if args.command == "hub":  # hub.yaml, not config.yaml: its own front-end
        from kiosk.cli import hub

        return hub.main(args)
    if args.command == "run":
        from kiosk.cli import run

        try:
            cfg = _load_config(args)
        except InvalidInput as exc:
            path = configmod.find(args.config)
            # Never dark at boot: a file the config names may be gone (played without, each part says so);
            # anything else wrong, the last config that was valid plays, with the same lenience.
            try:
                return run.run(configmod.load(path, degrade=True))
            except InvalidInput:
                pass
            fallback = configmod.last_good(path.resolve())
            if fallback is None:
                raise exc from None
            for problem in exc.problems:
                print(problem, file=sys.stderr)
            print("config.yaml is invalid: playing with the last good config until it is fixed", file=sys.stderr)
            return run.run(fallback, config_problems=exc.problems)
        return run.run(cfg)
    cfg = _load_config(args)
    if args.command == "render":
        from kiosk.cli import render
        from kiosk.screen.fonts import FontError

        try:
            at = _parse_at(args.at, cfg.schedule.timezone)
        except ValueError as exc:
            print(f"--at: {exc}", file=sys.stderr)
            return 2
        size = None
        if args.size:
            try:
                size = configmod._size(args.size, Path("."))
            except configmod._Invalid as exc:
                print(f"--size: {exc}", file=sys.stderr)
                return 2
        try:
            paths = render.render_to_dir(cfg, Path(args.out), at, size)
        except FontError as exc:
            print(f"display.font: {exc}", file=sys.stderr)
            return 2
        for path in paths:
            print(path)
        return 0 if paths else 1
    if args.command == "sync":
        from kiosk.source import channels, sync

        ok, summary = channels.sync_once(cfg) if cfg.source.channels else sync.sync_once(cfg)
        print(summary)
        return 0 if ok else 1
    if args.command == "status":
        from kiosk.cli import status

        return status.main(cfg)
    raise AssertionError(args.command)

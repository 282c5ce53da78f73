"""``kiosk attendant ...``: the attendant station's commands.

``key``: the station's signing key (0600) and the one-line public key every lane is given
(``attendant.station_key``). ``store-provision``: the store broker's users (one per lane and
the station) and its ACL. ``bridge``: a lane broker's bridge lines (mode 0600: they hold the
lane's store password), for its mosquitto's ``conf.d``. ``serve``: the station page (the
kiosk-attendant service, systemd/store/kiosk-attendant.service; :mod:`.server`).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def cmd_key(args: argparse.Namespace) -> int:
    from kiosk.security.remote import public_text, station_key

    key = station_key(Path(args.key), create=True)
    Path(args.public).write_text(public_text(key) + "\n")
    print(f"station key {args.key}; public key {args.public}: give it to every lane"
          " (attendant.station_key)")
    return 0


def cmd_store_provision(args: argparse.Namespace) -> int:
    from kiosk.bus.credentials import provision_store

    created = provision_store(Path(args.credentials_dir), args.lane, Path(args.passwd),
                              Path(args.acl))
    print(f"store broker: {len(created)} new password(s) in {args.credentials_dir}; wrote"
          f" {args.passwd} and {args.acl} (reload mosquitto to apply)")
    return 0


def cmd_bridge(args: argparse.Namespace) -> int:
    from kiosk.bus.bridge import StoreLink, bridge_text
    from kiosk.bus.credentials import read_password

    password = read_password(f"lane-{args.lane}", Path(args.credentials_dir))
    text = bridge_text(args.lane, StoreLink(args.store_host, args.store_port,
                                            Path(args.cafile), password))
    out = Path(args.output)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.chmod(out, 0o600)
    print(f"wrote {out}: lane {args.lane} bridged to {args.store_host}:{args.store_port}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from kiosk.attendant.board import LaneBoard
    from kiosk.attendant.server import StationServer
    from kiosk.attendant.web import Station, make_app
    from kiosk.bus.acl import STATION_USER
    from kiosk.bus.credentials import BusLogin, read_password
    from kiosk.config import load_config_or_exit
    from kiosk.ops import sdnotify
    from kiosk.security.remote import station_key

    config = load_config_or_exit()
    login = BusLogin(args.store_host, args.store_port, STATION_USER,
                     read_password(STATION_USER, Path(args.credentials_dir)),
                     cafile=args.cafile)
    board = LaneBoard(login)
    if not board.start(wait_s=10):
        print(f"kiosk attendant: store broker {args.store_host}:{args.store_port} did not"
              f" accept us ({board.bus.refusal or 'no answer'}); retrying in the background",
              file=sys.stderr)
    station = Station(board, config.staff, station_key(Path(args.key)),
                      config.paths.state_dir / "station-lockout.json")
    server = StationServer(uvicorn.Config(make_app(station), host=args.host, port=args.port,
                                          log_level="warning", ssl_certfile=args.cert,
                                          ssl_keyfile=args.tls_key))
    # uvicorn ends its loop on SIGTERM / SIGINT, then raises the signal again: to this
    # handler, so the board is stopped and the command returns (exit 0, not killed)
    sdnotify.stop_on_signals()
    try:
        server.run()
    finally:
        board.stop()
    return 0 if server.started else 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="attendant_command", required=True)
    key = sub.add_parser("key", help="make the station's signing key (if missing) and write"
                         " its public key for the lanes")
    key.add_argument("--key", required=True, help="the station's private key file (0600)")
    key.add_argument("--public", required=True, help="where to write the public key")
    key.set_defaults(fn=cmd_key)
    prov = sub.add_parser("store-provision", help="the store broker's users (one per lane,"
                          " and the station) and its ACL")
    prov.add_argument("--lane", action="append", required=True, help="a lane id (repeat)")
    prov.add_argument("--credentials-dir", required=True, help="where the passwords go")
    prov.add_argument("--passwd", required=True, help="the store broker's password file")
    prov.add_argument("--acl", required=True, help="the store broker's ACL file")
    prov.set_defaults(fn=cmd_store_provision)
    br = sub.add_parser("bridge", help="a lane broker's bridge to the store broker (TLS)")
    br.add_argument("--lane", required=True, help="the lane id")
    br.add_argument("--store-host", required=True, help="the store broker's address")
    br.add_argument("--store-port", type=int, default=8883, help="its TLS port")
    br.add_argument("--cafile", required=True, help="the CA of its certificate")
    br.add_argument("--credentials-dir", required=True,
                    help="where lane-<id>.password is (from store-provision)")
    br.add_argument("-o", "--output", required=True, help="the mosquitto conf.d file to write")
    br.set_defaults(fn=cmd_bridge)
    sv = sub.add_parser("serve", help="the attendant station's web page")
    sv.add_argument("--host", default="0.0.0.0", help="address to listen on")
    sv.add_argument("--port", type=int, default=8470,
                    help="port to listen on (0: the OS chooses; the URL is printed)")
    sv.add_argument("--store-host", required=True, help="the store broker's address")
    sv.add_argument("--store-port", type=int, default=8883, help="its TLS port")
    sv.add_argument("--cafile", required=True, help="the CA of its certificate")
    sv.add_argument("--credentials-dir", required=True,
                    help="where kiosk-attendant.password is (from store-provision)")
    sv.add_argument("--key", required=True, help="the station's private key (kiosk attendant"
                    " key)")
    sv.add_argument("--cert", help="TLS certificate for HTTPS (recommended)")
    sv.add_argument("--tls-key", help="its private key")
    sv.set_defaults(fn=cmd_serve)

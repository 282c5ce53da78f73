"""The ``kiosk`` command: services, the demo runner, and operator tools.

The composition root: the one module that may import every layer (and the simulators).
Imports sit inside the commands on purpose, so ``kiosk --help`` loads only argparse.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kiosk.config import KioskConfig


def _config() -> KioskConfig:
    """One way to load: the configuration, or its one line and exit 2 on a bad value."""
    from kiosk.config import load_config_or_exit

    return load_config_or_exit()


def cmd_core(args: argparse.Namespace) -> int:
    from kiosk.ops import sdnotify
    from kiosk.ops.core_ready import record_ready
    from kiosk.payments.registry import MethodError
    from kiosk.services.core import CoreService
    from kiosk.sim.payments import lane_methods  # the composition root picks real or demo

    config = _production_config()
    stop = sdnotify.stop_on_signals()
    watchdog = sdnotify.Watchdog()
    try:
        methods = lane_methods(config)
    except MethodError as exc:  # e.g. a method whose host is not configured: one line
        print(f"kiosk-core: {exc}", file=sys.stderr)
        return 2

    def on_ready() -> None:
        try:  # before READY=1: kiosk-update-commit (After= it) reads who became ready, when
            record_ready(config.paths.state_dir)
        except OSError as exc:  # the lane sells on; an update on trial is not committed
            print(f"kiosk-core: READY not recorded: {exc}", file=sys.stderr)
        sdnotify.ready(f"bus connected, lane {config.store.lane_id}")

    CoreService(config, methods).run(stop, on_ready=on_ready, on_tick=watchdog.tick)
    return 0


def cmd_catalog_import(args: argparse.Namespace) -> int:
    from kiosk.catalog import Catalog, CatalogError

    config = _config()
    catalog = Catalog(config.catalog_path)
    try:
        report = catalog.import_csv(Path(args.file), config.currency, config.tax.rates)
    except CatalogError as exc:
        print(f"catalog import failed: {exc}", file=sys.stderr)
        return 2
    for line in report.lines():
        print(f"{args.file}: {line}", file=sys.stderr)
    print(f"loaded {report.loaded} products, {len(report.errors)} bad rows skipped;"
          f" catalog now has {catalog.count()} products ({config.catalog_path})")
    return 1 if report.errors else 0


def cmd_catalog_pull(args: argparse.Namespace) -> int:
    import httpx

    from kiosk.ops import sdnotify
    from kiosk.services.catalog_pull import CatalogPuller
    from kiosk.services.sync import TokenError, read_token

    config = _config()
    url = args.url or config.sync.url
    if not url:
        print("catalog pull: no back office: give --url or set sync.url", file=sys.stderr)
        return 2
    try:
        token = read_token(Path(args.token_file or config.sync.token_file))
    except TokenError as exc:
        print(f"catalog pull: {exc}", file=sys.stderr)
        return 2
    ca_file = args.ca_file or config.sync.ca_file
    puller = CatalogPuller(config, url, token, Path(ca_file) if ca_file else None)
    try:
        if args.once:
            try:
                print(puller.poll())
            except httpx.HTTPError as exc:
                print(f"catalog pull: back office unreachable: {exc}", file=sys.stderr)
                return 1
            return 0
        puller.run(sdnotify.stop_on_signals(), args.interval)
        return 0
    finally:
        puller.close()


def cmd_journal_verify(args: argparse.Namespace) -> int:
    from kiosk.journal.store import Journal, JournalTooNew, MigrationHeld
    from kiosk.ops.update import on_trial

    config = _config()
    path = Path(args.path) if args.path else config.journal_path
    if not path.exists():
        print(f"no journal at {path}", file=sys.stderr)
        return 2
    try:  # read, never migrated while an update is on trial
        journal = Journal(path, defer=on_trial(config.paths.state_dir) is not None)
    except (JournalTooNew, MigrationHeld) as exc:  # a later release's, or on trial
        print(f"journal verify: {exc}", file=sys.stderr)
        return 2
    count, problems = journal.verify()
    for problem in problems:
        print(f"{path}: {problem}", file=sys.stderr)
    print(f"{path}: {count} events, {'OK' if not problems else f'{len(problems)} problem(s)'}")
    return 0 if not problems else 1


def _publish(config: KioskConfig, message: dict, service: str = "cli") -> None:
    """Send a command as ``service`` (its login, its command topic)."""
    from kiosk.bus.client import BusClient
    from kiosk.bus.credentials import login_for
    from kiosk.bus.messages import Topics

    user = f"kiosk-{service}"
    client = BusClient(login_for(config.bus, user, config.security.production),
                       f"{user}-{os.getpid()}")
    if not client.start(wait_s=5):
        raise SystemExit(f"cannot reach the bus at {config.bus.host}:{config.bus.port}"
                         f" (or it refused {user}'s credential)")
    client.publish(Topics(config.store.lane_id).command_from(service),
                   message).wait_for_publish(5)
    client.stop()


def cmd_bus_provision(args: argparse.Namespace) -> int:
    from kiosk.bus.credentials import provision

    config = _config()
    creds = Path(args.credentials_dir) if args.credentials_dir else config.bus.credentials_dir
    created = provision(creds, Path(args.passwd), Path(args.acl))
    print(f"bus: {len(created)} new password(s) in {creds}"
          f"{' (' + ', '.join(created) + ')' if created else ''}; wrote {args.passwd} and"
          f" {args.acl} (reload mosquitto to apply)")
    return 0


def cmd_sim_scan(args: argparse.Namespace) -> int:
    from kiosk.bus.messages import command
    from kiosk.domain.wallet_codes import classify_wallet

    config = _config()
    for code in args.codes:
        wallet = classify_wallet(code)
        if wallet is not None:  # a phone's payment code: as the scanner sends one (only it may)
            _publish(config, command("wallet_code", source="scanner", code=code,
                                     kind=wallet.kind), service="scanner")
        else:
            _publish(config, command("scan", source="sim", code=code))
    return 0


def cmd_staff_hash(args: argparse.Namespace) -> int:
    import getpass

    from kiosk.domain.codes import BADGE_PREFIX
    from kiosk.security.staff import DEMO_BADGE, DEMO_PIN, hash_secret, valid_pin

    secret = sys.stdin.readline().strip() if not sys.stdin.isatty() else getpass.getpass(
        "PIN or badge code: ")
    if not secret:
        print("nothing to hash", file=sys.stderr)
        return 2
    if secret in (DEMO_PIN, DEMO_BADGE):
        print("that is the demo credential every kiosk ships with: choose another",
              file=sys.stderr)
        return 2
    if not secret.startswith(BADGE_PREFIX) and not valid_pin(secret):
        print(f"a PIN has 4 to 12 digits; a badge code starts with {BADGE_PREFIX}",
              file=sys.stderr)
        return 2
    print(hash_secret(secret))
    return 0


def _production_config() -> KioskConfig:
    """The configuration, refused (one line, exit 2) on a device with demo staff."""
    from kiosk.config import ConfigError
    from kiosk.security.staff import check_production_staff

    config = _config()
    try:
        check_production_staff(config)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(2) from None
    return config


def cmd_config_check(args: argparse.Namespace) -> int:
    config = _production_config()
    print(f"config OK: store {config.store.store_id} lane {config.store.lane_id},"
          f" {config.currency.code}, tax {config.tax.mode}, state in {config.paths.state_dir}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from kiosk.sim.demo import run_demo

    return run_demo(args)


def cmd_ui(args: argparse.Namespace) -> int:
    if args.fonts:
        from kiosk.ui.fontcheck import report_fonts

        return report_fonts()
    from kiosk.ui import run_ui

    on_start = ()
    if os.environ.get("KIOSK_UI_TESTCTL"):  # a test drives this UI process
        from kiosk.sim.ui_testctl import maybe_start

        on_start = (maybe_start,)
    return run_ui(args, demo_panel=_demo_panel, on_start=on_start)


def _demo_panel(*args: object) -> object:
    """The demo's sample-item panel (Kivy widgets: imported only when a demo shows it)."""
    from kiosk.sim.ui_demo_panel import DemoPanel

    return DemoPanel(*args)


def cmd_sim_printer(args: argparse.Namespace) -> int:
    from kiosk.sim.printer import sim_printer_main

    return sim_printer_main(args)


def cmd_sim_card(args: argparse.Namespace) -> int:
    from kiosk.sim.card import sim_card_main

    return sim_card_main(args)


def cmd_sim_acquirer(args: argparse.Namespace) -> int:
    from kiosk.sim.acquirer import main as sim_acquirer_main

    return sim_acquirer_main(args)


def cmd_sim_qrpay(args: argparse.Namespace) -> int:
    from kiosk.sim.qrpay import main as sim_qrpay_main

    return sim_qrpay_main(args)


def cmd_acquirer(args: argparse.Namespace) -> int:
    from kiosk.payments.acquirer import admin_main

    return admin_main(_config(), args.action)


def cmd_receipt_reprint(args: argparse.Namespace) -> int:
    from kiosk.printing.cli import reprint_main

    return reprint_main(args)


def cmd_scanner(args: argparse.Namespace) -> int:
    from kiosk.services.scanner import scanner_main

    return scanner_main(args)


def cmd_scale(args: argparse.Namespace) -> int:
    from kiosk.services.scale import scale_main

    return scale_main(args)


def cmd_sim_scale(args: argparse.Namespace) -> int:
    from kiosk.sim.scale import sim_scale_main

    return sim_scale_main(args)


def cmd_metrics(args: argparse.Namespace) -> int:
    from kiosk.services.metrics import metrics_main

    return metrics_main(args)


def cmd_gpio(args: argparse.Namespace) -> int:
    from kiosk.services.gpio import gpio_main

    return gpio_main(args)


def cmd_flash(args: argparse.Namespace) -> int:
    from kiosk.ops.flash import flash_main

    return flash_main(args)


def cmd_provision(args: argparse.Namespace) -> int:
    from kiosk.ops.provision import provision_main

    return provision_main(args)


def cmd_version(args: argparse.Namespace) -> int:
    from kiosk.ops.version import version_main

    return version_main(args)


def cmd_update(args: argparse.Namespace) -> int:
    from kiosk.ops.update import update_main

    if args.commit and args.settle is None:
        update = _config().update  # the settle's defaults: [update] in the configuration
        args.settle = update.settle_s
        if args.settle_timeout is None:
            args.settle_timeout = update.settle_timeout_s
    elif args.commit and args.settle_timeout is None:
        args.settle_timeout = 3 * args.settle  # as the defaults: room for a restart or two
    return update_main(args)


def cmd_doctor(args: argparse.Namespace) -> int:
    from kiosk.ops.doctor import doctor_main

    return doctor_main(args)


def cmd_voice(args: argparse.Namespace) -> int:
    return args.voice_fn(args)


def cmd_bench(args: argparse.Namespace) -> int:
    from kiosk.bench import run_benchmark

    return run_benchmark(args.name, args)


def _add_run(run: argparse.ArgumentParser) -> None:
    run.add_argument("--state-dir", help="where journal, catalog and receipts go")
    run.add_argument("--no-stdin", action="store_true", help="do not read barcodes from stdin")
    run.add_argument("--no-ui", action="store_true", help="do not start the shopper UI")
    run.add_argument("--sim-payments", action="store_true",
                     help="simulated acquirer plays the card reader (no pcscd / vpcd)")
    run.add_argument("--backoffice", action="store_true",
                     help="also start a local back office (PostgreSQL under the state dir)"
                          " and sync this lane to it (./setup.sh run does)")
    run.set_defaults(fn=cmd_run)


def _add_core(core: argparse.ArgumentParser) -> None:
    core.set_defaults(fn=cmd_core)


def _add_ui(ui: argparse.ArgumentParser) -> None:
    ui.add_argument("--windowed", action="store_true", help="borderless fixed-size window")
    ui.add_argument("--size", default="1280x800", help="kiosk screen size when windowed")
    ui.add_argument("--demo", action=argparse.BooleanOptionalAction, default=None,
                    help="demo panel (default: when the scanner is simulated)")
    ui.add_argument("--screenshots", metavar="DIR", help="save a PNG on every screen change")
    ui.add_argument("--fonts", action="store_true",
                    help="report measured font coverage of every UI string and exit")
    ui.set_defaults(fn=cmd_ui)


def _add_catalog(parser: argparse.ArgumentParser) -> None:
    cat = parser.add_subparsers(dest="sub", required=True)
    imp = cat.add_parser("import", help="import products from a CSV file")
    imp.add_argument("file", help="CSV with the columns gtin, name_en, name_zh, name_ko, price,"
                     " tax_class, age_restricted, sold_by_weight, plu")
    imp.set_defaults(fn=cmd_catalog_import)
    pull = cat.add_parser("pull", help="pull the store's catalog snapshots from the back"
                          " office once or in a loop (kiosk-sync does it on a lane;"
                          " kiosk-core applies them between baskets)")
    pull.add_argument("--url", help="the back office, https://host:port (default: sync.url)")
    pull.add_argument("--token-file", help="this lane's token, a 0600 file (default:"
                      " sync.token_file)")
    pull.add_argument("--ca-file", help="the back office's CA certificate (default:"
                      " sync.ca_file)")
    pull.add_argument("--interval", type=float, default=30.0, help="seconds between polls")
    pull.add_argument("--once", action="store_true", help="one poll; print what came of it")
    pull.set_defaults(fn=cmd_catalog_pull)


def _add_journal(parser: argparse.ArgumentParser) -> None:
    jr = parser.add_subparsers(dest="sub", required=True)
    ver = jr.add_parser("verify", help="check the journal's chain, replay and card-data hygiene")
    ver.add_argument("--path", help="journal file (default: from config)")
    ver.set_defaults(fn=cmd_journal_verify)


def cmd_backup(args: argparse.Namespace) -> int:
    from kiosk.ops.backup import BackupError, backup

    config = _config()
    to = Path(args.to) if args.to else config.paths.state_dir / "backups"
    try:
        path = backup(config, to, keep=args.keep)
    except (BackupError, OSError) as exc:
        print(f"backup failed: {exc}", file=sys.stderr)
        return 2
    print(f"backup written: {path} (newest {args.keep} kept in {to})")
    if to.stat().st_dev == config.paths.state_dir.stat().st_dev:
        print("note: that folder is on the lane's own storage: it helps against a damaged"
              " journal, not a dead SD card; use --to on a USB stick", file=sys.stderr)
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from kiosk.ops.backup import BackupError, restore
    from kiosk.ops.backup_remote import restore_from_backoffice

    config = _config()
    try:
        if args.from_backoffice:
            token_file = args.token_file or config.sync.token_file
            ca_file = args.ca_file or config.sync.ca_file
            if not token_file:
                print("restore: --token-file (or [sync] token_file) is needed", file=sys.stderr)
                return 2
            token = Path(token_file).read_text().strip()
            ca = Path(ca_file) if ca_file else None
            last, aside = restore_from_backoffice(config, args.from_backoffice, token, ca)
            print(f"journal rebuilt from the back office up to seq {last}, verify OK"
                  f" (replaced files, if any, in {aside})")
            return 0
        if not args.archive:
            print("restore: name an ARCHIVE or --from-backoffice URL", file=sys.stderr)
            return 2
        manifest, aside = restore(config, Path(args.archive))
    except (BackupError, OSError) as exc:
        print(f"restore refused: {exc}", file=sys.stderr)
        return 2
    print(f"restored {len(manifest['files'])} files of lane {manifest['lane']} backup"
          f" {manifest['created']}, journal verify OK; replaced files kept in {aside}")
    return 0


def cmd_receipt_prune(args: argparse.Namespace) -> int:
    from kiosk.printing.store import ReceiptStore

    config = _config()
    days = args.days or config.ereceipt.valid_days
    removed = ReceiptStore(config.receipts_dir).prune(days)
    print(f"{len(removed)} kept receipt(s) older than {days} days removed from"
          f" {config.receipts_dir}")
    return 0


def _add_backup(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--to", metavar="PATH", help="folder for the archive, e.g. a mounted"
                        " USB stick (default: <state dir>/backups)")
    parser.add_argument("--keep", type=int, default=7, help="archives of this lane to keep"
                        " there (default: %(default)s)")
    parser.set_defaults(fn=cmd_backup)


def _add_restore(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("archive", nargs="?", help="a kiosk backup archive (.tar)")
    parser.add_argument("--from-backoffice", metavar="URL",
                        help="rebuild the journal from the back office's copy instead")
    parser.add_argument("--token-file", help="this lane's back-office token (default: [sync]"
                        " token_file)")
    parser.add_argument("--ca-file", help="the back office's CA certificate, PEM (default:"
                        " [sync] ca_file)")
    parser.set_defaults(fn=cmd_restore)


def _add_bus(parser: argparse.ArgumentParser) -> None:
    from kiosk.bus.broker import DEVICE_ACL_FILE, DEVICE_PASSWD_FILE

    bus = parser.add_subparsers(dest="sub", required=True)
    prov = bus.add_parser("provision", help="a password per bus user (kept if present), the"
                          " broker's password file and ACL")
    prov.add_argument("--credentials-dir", help="default: bus.credentials_dir")
    prov.add_argument("--passwd", default=str(DEVICE_PASSWD_FILE),
                      help="mosquitto password file to write (default: %(default)s)")
    prov.add_argument("--acl", default=str(DEVICE_ACL_FILE),
                      help="mosquitto ACL file to write (default: %(default)s)")
    prov.set_defaults(fn=cmd_bus_provision)


def _add_sim(parser: argparse.ArgumentParser) -> None:
    from kiosk.sim.acquirer import add_arguments as add_sim_acquirer_args
    from kiosk.sim.card import add_arguments as add_sim_card_args
    from kiosk.sim.printer import add_sim_printer_args
    from kiosk.sim.qrpay import add_arguments as add_sim_qrpay_args
    from kiosk.sim.scale import add_sim_scale_args

    sim = parser.add_subparsers(dest="sub", required=True)
    scan = sim.add_parser("scan", help="publish barcode reads as the simulated scanner")
    scan.add_argument("codes", nargs="+", help="barcodes (or STAFF:… badge codes), one read each;"
                      " a wallet payment code goes to kiosk-core as the scanner's wallet_code")
    scan.set_defaults(fn=cmd_sim_scan)
    simp = sim.add_parser("printer", help="ESC/POS printer simulator on a pty (PNG receipts)")
    add_sim_printer_args(simp)
    simp.set_defaults(fn=cmd_sim_printer)
    sims = sim.add_parser("scale", help="scale simulator on a pty (Mettler Toledo 8217 and"
                          " Magellan; control socket or stdin)")
    add_sim_scale_args(sims)
    sims.set_defaults(fn=cmd_sim_scale)
    sima = sim.add_parser("acquirer", help="ISO 8583 acquirer host simulator (TCP or TLS)")
    add_sim_acquirer_args(sima)
    sima.set_defaults(fn=cmd_sim_acquirer)
    simc = sim.add_parser("card", help="virtual EMV card in pcscd's vpcd reader (stdin control)")
    add_sim_card_args(simc)
    simc.set_defaults(fn=cmd_sim_card)
    simq = sim.add_parser("qrpay", help="wallet gateway simulator (HTTPS: generic, Alipay,"
                          " WeChat Pay dialects; scenarios by code/amount)")
    add_sim_qrpay_args(simq)
    simq.set_defaults(fn=cmd_sim_qrpay)
    from kiosk.sim.salesyear import add_arguments as add_sim_salesyear_args

    add_sim_salesyear_args(sim.add_parser("salesyear", help="load a synthetic year of sales of"
                                          " several stores into a back office (demos, tests)"))


def _add_receipt(parser: argparse.ArgumentParser) -> None:
    from kiosk.printing.cli import add_reprint_args

    rc = parser.add_subparsers(dest="sub", required=True)
    rep = rc.add_parser("reprint", help="print a kept receipt again")
    add_reprint_args(rep)
    rep.set_defaults(fn=cmd_receipt_reprint)
    prune = rc.add_parser("prune", help="delete kept receipts older than the e-receipt link"
                          " validity (retention; a daily timer runs it)")
    prune.add_argument("--days", type=int, help="default: ereceipt.valid_days")
    prune.set_defaults(fn=cmd_receipt_prune)


def _add_gpio(gpio: argparse.ArgumentParser) -> None:
    gpio.set_defaults(fn=cmd_gpio)


def cmd_ereceipt(args: argparse.Namespace) -> int:
    from kiosk.services.ereceipt import serve_main

    return serve_main(args)


def cmd_sync(args: argparse.Namespace) -> int:
    from kiosk.services.sync import sync_main

    return sync_main(args)


def _add_staff(parser: argparse.ArgumentParser) -> None:
    staff = parser.add_subparsers(dest="sub", required=True)
    staff.add_parser("hash-pin", help="hash a PIN or badge code for the config (reads stdin)"
                     ).set_defaults(fn=cmd_staff_hash)


def _add_config(parser: argparse.ArgumentParser) -> None:
    cfg = parser.add_subparsers(dest="sub", required=True)
    cfg.add_parser("check", help="load and validate the configuration").set_defaults(
        fn=cmd_config_check)


def _add_acquirer(parser: argparse.ArgumentParser) -> None:
    acq = parser.add_subparsers(dest="sub", required=True)
    for action, text in (("sign-on", "0800 sign-on"), ("echo", "0800 echo test"),
                         ("drain", "send queued reversals and completions"),
                         ("end-of-day", "0500 reconciliation of the open batch")):
        acq.add_parser(action, help=text).set_defaults(fn=cmd_acquirer, action=action)


def _add_bench(bench: argparse.ArgumentParser) -> None:
    bench.add_argument("name", choices=["core", "ui", "printer", "scanner", "voice", "vad",
                                        "card", "fuzz", "qrpay", "sync", "bagging",
                                        "forecast", "items"],
                       help="what to measure")
    bench.add_argument("--events", type=int, default=600, help="core: events per run")
    bench.add_argument("--baskets", type=int, default=100, help="bagging: scripted baskets")
    bench.add_argument("--seed", type=int, default=19, help="bagging: the script's seed")
    bench.add_argument("--mistakes", type=float, default=0.1,
                       help="bagging: share of items the shopper gets wrong")
    bench.add_argument("--noise", type=int, default=3, help="bagging: +- grams of scale noise")
    bench.add_argument("--runs", type=int, default=3, help="core, sync: runs (the median is kept)")
    bench.add_argument("--presentations", type=int, default=12, help="scanner: codes shown")
    bench.add_argument("--fps-frames", type=int, default=240, help="scanner: frames timed")
    bench.add_argument("--card-runs", type=int, default=50, help="card: sales timed")
    bench.add_argument("--part", choices=["heldout", "tune"], default="heldout",
                       help="voice: the test set's part (tune on 'tune', report 'heldout')")
    bench.add_argument("--lang", action="append", choices=["ko", "en"], default=None,
                       help="voice: a language to measure (default: ko and en)")
    bench.add_argument("--purchases", type=int, default=20,
                       help="voice: scripted voice-only purchases per language")
    bench.add_argument("--qrpay-sales", type=int, default=200,
                       help="qrpay: phone payments timed (code read → approved)")
    bench.add_argument("--qrpay-gateway", choices=["https", "inproc"], default="https",
                       help="qrpay: kiosk sim qrpay over HTTPS, or the gateway inside kiosk-core")
    bench.add_argument("--fuzz-cases", type=int, default=None,
                       help="fuzz: cases per target (default 20,000; 100,000 for tlv, iso8583)")
    bench.add_argument("--fuzz-target", action="append", metavar="NAME",
                       help="fuzz: only this target (repeatable; default: all)")
    bench.add_argument("--sync-lanes", default="1,10,100",
                       help="sync: lane counts to run, comma-separated")
    bench.add_argument("--sync-events", type=int, default=50000,
                       help="sync: backlog events in all, split among the lanes")
    bench.add_argument("--sync-batch", type=int, default=500,
                       help="sync: events per batch (kiosk-sync's default batch_max)")
    bench.add_argument("--sync-seconds", type=float, default=5.0,
                       help="sync: seconds of sustained selling after the backlog")
    bench.add_argument("--sync-rate", type=float, default=2.0,
                       help="sync: events per second per lane while sustained")
    bench.add_argument("--sync-tls", action="store_true", help="sync: HTTPS (a demo CA)")
    bench.add_argument("--forecast-stores", type=int, default=5,
                       help="forecast: stores of the synthetic year")
    bench.add_argument("--forecast-items", type=int, default=200,
                       help="forecast: items per store (series = stores x items)")
    bench.add_argument("--forecast-seed", type=int, default=18,
                       help="forecast: the synthetic year's seed")
    bench.add_argument("--items-db", help="items: a back office holding a synthetic year"
                       " (kiosk sim salesyear --stores 1; default: $KIOSK_BACKOFFICE_DB)")
    bench.add_argument("--items-days", type=int, default=92,
                       help="items: the range's days, ending on the last day with a sale")
    bench.set_defaults(fn=cmd_bench)


def _arguments_of(module: str, run: Callable[[argparse.Namespace], int] | None = None,
                  ) -> Callable[[argparse.ArgumentParser], None]:
    """A command whose arguments ``module.add_arguments`` adds (imported only when that
    command runs), run by ``run`` (or by what those arguments set as ``fn``)."""
    def add(parser: argparse.ArgumentParser) -> None:
        import importlib

        importlib.import_module(module).add_arguments(parser)
        if run is not None:
            parser.set_defaults(fn=run)

    return add


#: every command: its one-line help and the function that adds its arguments. Only the
#: command being run gets its arguments (and imports their modules), so ``kiosk --help``
#: and the list of commands cost no more than argparse.
COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None]]] = {
    "run": ("demo: broker, core and simulated devices", _add_run),
    "core": ("run kiosk-core (the checkout service)", _add_core),
    "ui": ("the shopper UI (Kivy; fullscreen unless --windowed)", _add_ui),
    "catalog": ("catalog tools", _add_catalog),
    "journal": ("journal tools", _add_journal),
    "backup": ("back up journal, catalog and state to a checksummed archive", _add_backup),
    "restore": ("restore a backup archive, or the journal from the back office", _add_restore),
    "bus": ("bus tools", _add_bus),
    "sim": ("simulated devices", _add_sim),
    "receipt": ("receipt tools", _add_receipt),
    "scanner": ("scanner service (camera or keyboard wedge)",
                _arguments_of("kiosk.services.scanner", cmd_scanner)),
    "scale": ("kiosk-scale: one scale's live weight on the bus (produce, bagging)",
              _arguments_of("kiosk.services.scale", cmd_scale)),
    "voice": ("kiosk-voice: spoken prompts, voice commands, models",
              _arguments_of("kiosk.services.voice.cli", cmd_voice)),
    "gpio": ("run kiosk-gpio (tower light, buttons, buzzer, door)", _add_gpio),
    "ereceipt": ("kiosk-ereceipt: the receipt as a web page for the shopper's phone",
                 _arguments_of("kiosk.services.ereceipt", cmd_ereceipt)),
    "sync": ("kiosk-sync: ship the journal to the store's back office",
             _arguments_of("kiosk.services.sync", cmd_sync)),
    "metrics": ("kiosk-metrics: the lane's health for Prometheus (/metrics)",
                _arguments_of("kiosk.services.metrics", cmd_metrics)),
    "staff": ("staff tools", _add_staff),
    "config": ("configuration", _add_config),
    "acquirer": ("acquirer host link (ISO 8583)", _add_acquirer),
    "bench": ("benchmarks (last line is JSON)", _add_bench),
    "backoffice": ("the store back office: migrate, serve, lanes, backup, retention, forecast",
                   _arguments_of("kiosk.backoffice.commands")),
    "attendant": ("the attendant station: key, store broker users, lane bridge, web page",
                  _arguments_of("kiosk.attendant.commands")),
    "flash": ("write an SD-card image safely (technicians)",
              _arguments_of("kiosk.ops.flash", cmd_flash)),
    "provision": ("first boot: apply kiosk-provision.toml",
                  _arguments_of("kiosk.ops.provision", cmd_provision)),
    "version": ("package version, git commit, image build",
                _arguments_of("kiosk.ops.version", cmd_version)),
    "update": ("install an update bundle into the other root slot",
               _arguments_of("kiosk.ops.update", cmd_update)),
    "doctor": ("check this lane: services, broker, journal, space, clock, certificates,"
               " devices, paper, pending reversals, demo credentials, config layers",
               _arguments_of("kiosk.ops.doctor", cmd_doctor)),
}


def _command_in(argv: list[str]) -> str | None:
    """The command ``argv`` runs (its first word that names one), or None."""
    return next((word for word in argv if word in COMMANDS), None)


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser; given ``argv``, only the command it names gets its arguments built."""
    chosen = None if argv is None else _command_in(argv)
    parser = argparse.ArgumentParser(prog="kiosk", description=__doc__.split("\n\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log at debug level")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (text, add) in COMMANDS.items():
        command = sub.add_parser(name, help=text)
        if argv is None or name == chosen:
            add(command)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    from kiosk.bus.credentials import CredentialError

    try:
        return args.fn(args)
    except CredentialError as exc:  # a missing or unsafe bus password: say which, no traceback
        print(f"kiosk: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())

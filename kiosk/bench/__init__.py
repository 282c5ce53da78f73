"""Benchmarks: ``kiosk bench NAME``. Each prints readable figures, then one JSON line."""

from __future__ import annotations

from argparse import Namespace


def run_benchmark(name: str, args: Namespace) -> int:
    if name == "core":
        from kiosk.bench.core import bench_core

        return bench_core(events=args.events, runs=args.runs)
    if name == "ui":
        from kiosk.bench.ui import bench_ui

        return bench_ui()
    if name == "printer":
        from kiosk.bench.printer import bench_printer

        return bench_printer()
    if name == "scanner":
        from kiosk.bench.scanner import bench_scanner

        return bench_scanner(presentations=args.presentations, fps_frames=args.fps_frames)
    if name == "voice":
        from kiosk.bench.voice import bench_voice

        return bench_voice(verbose=getattr(args, "verbose", False), part=args.part,
                           langs=tuple(args.lang or ("ko", "en")), n_purchases=args.purchases)
    if name == "vad":
        from kiosk.bench.vad import bench_vad

        return bench_vad(verbose=getattr(args, "verbose", False))
    if name == "card":
        from kiosk.bench.card import bench_card

        return bench_card(runs=args.card_runs)
    if name == "qrpay":
        from kiosk.bench.qrpay import bench_qrpay

        return bench_qrpay(sales=args.qrpay_sales, gateway=args.qrpay_gateway)
    if name == "sync":
        from kiosk.bench.sync import bench_sync

        return bench_sync([int(n) for n in args.sync_lanes.split(",")], total=args.sync_events,
                          batch=args.sync_batch, seconds=args.sync_seconds,
                          rate=args.sync_rate, tls=args.sync_tls, repeat=args.runs)
    if name == "bagging":
        from kiosk.bench.bagging import bench_bagging

        return bench_bagging(baskets=args.baskets, seed=args.seed, mistakes=args.mistakes,
                             noise_g=args.noise, verbose=getattr(args, "verbose", False))
    if name == "forecast":
        from kiosk.bench.forecast import bench_forecast

        return bench_forecast(stores=args.forecast_stores, items=args.forecast_items,
                              seed=args.forecast_seed, runs=args.runs)
    if name == "fuzz":
        from kiosk.bench.fuzz import bench_fuzz

        return bench_fuzz(cases=args.fuzz_cases, targets=args.fuzz_target or None)
    if name == "items":
        import os

        from kiosk.backoffice.commands import DB_ENV
        from kiosk.bench.items import bench_items

        url = args.items_db or os.environ.get(DB_ENV)
        if not url:
            raise SystemExit(f"kiosk bench items: give --items-db URL or set {DB_ENV}")
        return bench_items(url, days=args.items_days, runs=args.runs)
    raise SystemExit(f"unknown benchmark {name!r}")

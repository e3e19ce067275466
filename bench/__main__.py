"""`make bench`: seed 100k creators × 30 days on PostgreSQL; time refresh, assignment, import and the bulk API against floors."""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/ladder_bench"
SCALES = {"100k": 100_000, "1m": 1_000_000}


def run(argv, env, capture=True):
    result = subprocess.run(argv, cwd=BASE_DIR, env=env, check=True, text=True,
                            stdout=subprocess.PIPE if capture else None)
    return result.stdout


def stage(name, env, *args):
    out = run([sys.executable, "-m", "bench.stage", name, *map(str, args)], env)
    return json.loads(out.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", choices=sorted(SCALES), help="a named size: 100k (the default) or 1m (the tier, "
                        "assignment and ops steps at a million creators; the import and API steps keep their sizes)")
    parser.add_argument("--influencers", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--reuse", action="store_true", help="keep the benchmark database seeded by an earlier run")
    parser.add_argument("--import-rows", type=int, default=1_000_000, help="rows of the metric file imported")
    parser.add_argument("--api-rows", type=int, default=1_000_000, help="rows posted through metrics/bulk")
    parser.add_argument("--only", choices=["tiers", "import", "api"], help="run only these steps (after seeding)")
    args = parser.parse_args()
    if args.scale:
        args.influencers = SCALES[args.scale]

    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings.local", "DJANGO_DEBUG": "false",
           "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")}
    env.pop("LADDER_CHUNK_SIZE", None)
    database = url.rsplit("/", 1)[1]
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    print(f"Ladder benchmark: {args.influencers:,} creators × {args.days} days on PostgreSQL ({database})\n")
    seed_seconds = None
    if not args.reuse:
        run(["psql", admin_url, "-qc", f"DROP DATABASE IF EXISTS {database}"], env)
        run(["psql", admin_url, "-qc", f"CREATE DATABASE {database}"], env)
        run([sys.executable, "manage.py", "migrate", "-v", "0"], env)
        started = time.perf_counter()
        run([sys.executable, "manage.py", "seed_demo", "--influencers", str(args.influencers), "--days", str(args.days),
             "--no-logins", "--no-progress"], env)
        seed_seconds = time.perf_counter() - started
    stage("analyze", env)
    if args.only in (None, "tiers"):
        tiers(env, seed_seconds, stage("seed_copy_floor", env)["copy_seconds"] if seed_seconds else None)
    if args.only in (None, "import"):
        metric_import(env, args.import_rows)
    if args.only in (None, "api"):
        from .api import api_bulk

        api_bulk(env, args.api_rows, stage)
    return 0


def metric_import(env, rows):
    """A messy file of `rows` rows for new creators: imported, then the same rows COPYed into the same table, then
    the file imported again (nothing changes)."""
    stage("import_reset", env)
    made = stage("import_file", env, rows)
    first = stage("import", env)
    floor = stage("import_copy_floor", env)
    again = stage("import", env)
    stage("import_reset", env)
    copy_seconds = floor["copy_seconds"]
    print(f"\nmetric import: {rows:,} rows ({made['bytes'] / 2**20:,.0f} MB CSV, {first['created']:,} new creators)")
    print(f"{'step':40} {'seconds':>9} {'rows/s':>10} {'peak MB':>8} {'× COPY':>8}")
    print(f"{'COPY of the same rows, same table':40} {copy_seconds:9.2f} {rows / copy_seconds:10,.0f} {'':8} {1.0:8.2f}")
    for name, result, note in (("import (all new)", first, "target ≤ 10×, ≤ 300 MB"),
                               ("import again (all unchanged)", again, "")):
        print(f"{name:40} {result['seconds']:9.2f} {rows / result['seconds']:10,.0f} {result['peak_mb']:8.0f} "
              f"{result['seconds'] / copy_seconds:8.2f}  {note}")
    print(f"first import: {first['new']:,} new, {first['rejected']:,} rejected; "
          f"second: {again['unchanged']:,} unchanged, {again['new'] + again['updated']:,} written")


def tiers(env, seed_seconds, seed_copy_seconds):
    from .scale import LOAD_CONNECTIONS, LOAD_SECONDS, celery_refresh, web_load

    lean = stage("lean_floor", env)["floor_seconds"]
    floor = stage("floor", env)
    stage("reset", env)
    full = stage("refresh", env)
    # This machine's PostgreSQL runs without autovacuum: analyze after each writing step, as autovacuum would
    # soon after a million rows changed (without fresh statistics the planner picks poor plans for pages).
    stage("analyze", env)
    unchanged = stage("refresh", env)
    celery_one = celery_refresh(env, stage, 1)
    celery_two = celery_refresh(env, stage, 2)
    stage("whatif_reset", env)
    whatif = stage("whatif", env)
    stage("whatif_reset", env)
    stage("reset_coaching", env)
    assigned = stage("assign", env)
    stage("analyze", env)
    reassigned = stage("assign", env)
    # The pages last, on the whole world: tiers, programmes, notifications.
    dashboard = stage("dashboard", env)
    changelist = stage("admin_changelist", env)
    load = web_load(env, stage)

    def against_lean(result, note=""):
        return result["seconds"], result["peak_mb"], result["seconds"] / lean, note

    rows = [
        *([("seed_demo (COPY)", seed_seconds, None, seed_seconds / seed_copy_seconds,
            f"× COPY of the same rows ({seed_copy_seconds:.1f} s); target ≤ 2×")] if seed_seconds else []),
        ("lean floor: narrow table, one UPDATE", lean, None, 1.0, "reading the metrics once"),
        ("the refresh's aggregate as one UPDATE", *against_lean(floor, "the aggregate alone")),
        ("full refresh (everyone classified)", *against_lean(full, "target ≤ 3×")),
        ("refresh, nothing changed", *against_lean(unchanged, "target ≤ 1.5×")),
        ("what-if of a draft (≤ full refresh)",
         *against_lean(whatif, f"{whatif['seconds'] / full['seconds']:.2f}× the full refresh")),
        ("programme assignment + notifications", *against_lean(assigned, "target ≤ 3×")),
        ("programme assignment, nothing changed", *against_lean(reassigned)),
    ]
    print(f"{'step':40} {'seconds':>9} {'peak MB':>8} {'× floor':>8}")
    for name, seconds, peak, ratio, note in rows:
        peak_text = f"{peak:8.0f}" if peak is not None else f"{'':8}"
        ratio_text = f"{ratio:8.2f}" if ratio is not None else f"{'':8}"
        print(f"{name:40} {seconds:9.2f} {peak_text} {ratio_text}  {note}")
    peaks = [result["peak_mb"] for result in (floor, full, unchanged, whatif, assigned, reassigned)]
    peaks += [celery_one["worker_peak_mb"], celery_two["worker_peak_mb"]]
    print(f"\npeak RSS of any step: {max(peaks):.0f} MB (target ≤ 500 MB; a Celery worker's processes are each counted)")
    print(f"\nCelery refresh, nothing changed ({celery_two['chunks']} chunks), beside the synchronous one "
          f"({unchanged['seconds']:.2f} s): 1 worker process {celery_one['seconds']:.2f} s "
          f"({celery_one['seconds'] / unchanged['seconds']:.2f}×, target ≤ 1×), "
          f"2 processes {celery_two['seconds']:.2f} s ({celery_two['seconds'] / unchanged['seconds']:.2f}×, target < 1×)")
    print(f"admin creator list filtered by tier, server time: {changelist['best_seconds'] * 1000:.0f} ms "
          f"(target ≤ 300 ms), {changelist['queries']} queries")
    if load:
        health, plan = load["health"], load["plan"]
        print(f"under load (wrk, {LOAD_CONNECTIONS} connections, {LOAD_SECONDS} s each, gunicorn 2 workers): "
              f"/healthz p50 {health['p50_ms']:.1f} ms ({health['rps']:,.0f}/s), /plan/ p50 {plan['p50_ms']:.1f} ms "
              f"({plan['rps']:,.0f}/s): {plan['p50_ms'] / health['p50_ms']:.2f}× (target ≤ 3×)")
    print(f"\ndecisions written: {full['decisions']:,} for {full['total']:,} creators in the full refresh, "
          f"{unchanged['decisions']:,} in the second")
    print(f"what-if: {whatif['moved']:,} of {whatif['total']:,} creators would move; it wrote nothing to them")
    print(f"ops dashboard (/ops/) server time: {dashboard['best_seconds']:.3f} s, {dashboard['queries']} queries "
          f"(best of three, view and template)")
    print(f"assignment changes: {assigned['changes']:,} ({assigned['enrolled']:,} enrolments) in the first pass, "
          f"{reassigned['changes']:,} in the second")


if __name__ == "__main__":
    sys.exit(main())

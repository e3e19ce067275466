"""One benchmark stage in its own process, so its time and peak memory are its own; prints JSON."""

import datetime
import json
import os
import resource
import sys
import time
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from tiers.rules import PolicyRules  # noqa: E402
from tiers.selectors import policy_published, window_aggregate_sql, window_start  # noqa: E402


def _classify_all(source: str, params: list, *, vertical: str, live: str) -> None:
    """One UPDATE of every creator from an aggregate: a CASE for tier and type that reads every column the aggregate
    computes (PostgreSQL leaves out a subquery's unused outputs, which would flatter the floor)."""
    rules = PolicyRules.from_json(policy_published().rules)
    with connection.cursor() as cursor:
        cursor.execute("SET work_mem = '64MB'")
        cursor.execute("SET jit = off")
        cursor.execute(
            f"""
            UPDATE tiers_influencer AS i SET
                tier = CASE WHEN a.gmv >= %s AND a.followers >= 0 THEN 'head' WHEN a.gmv >= %s THEN 'mid'
                            ELSE 'tail' END,
                creator_type = CASE WHEN a.live_gmv * 2 >= a.gmv AND {live} > 0 THEN 'persona'
                                    WHEN {vertical} THEN 'vertical'
                                    WHEN a.video_gmv + a.storefront_gmv >= a.gmv * 0.5 THEN 'seeding'
                                    ELSE 'entertainment' END
            FROM ({source}) AS a WHERE i.id = a.influencer_id
            """,
            [rules.head.promote_gmv, rules.mid.promote_gmv, *params],
        )


def _window() -> list:
    from django.utils import timezone

    rules = PolicyRules.from_json(policy_published().rules)
    today = timezone.localdate()
    return [window_start(today, rules.window_days), today]


def floor() -> None:
    """The refresh's own window aggregate, a trivial CASE for the decision, one UPDATE for all: what the aggregate
    alone costs, beside the lean floor."""
    from tiers.selectors import _CATEGORIES

    categories = ", ".join(f"COALESCE(a.category_{index}, 0)" for index in range(len(_CATEGORIES)))
    rest = ("a.live_sessions + a.live_days + a.big_live_days + a.videos_posted + a.entertainment_videos + a.orders "
            "+ a.active_days + a.big_live_gmv + COALESCE(a.reputation, 0) + a.repeat_weighted + a.refund_weighted")
    _classify_all(window_aggregate_sql(), [0, 10**12, *_window()], live=f"({rest})",
                  vertical=f"GREATEST({categories}) >= a.gmv * 0.7")


# A narrow copy of the metrics (channel GMV, live minutes, followers): what reading the data once costs.
NARROW = "bench_narrow_metrics"


def lean_floor() -> dict:
    """The lean floor: one UPDATE … FROM (aggregate) over a narrow metrics table of the same rows (sums of GMV by
    channel, live minutes, the latest followers; a CASE for tier and type). The narrow copy is made untimed."""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {NARROW}")
        cursor.execute(f"CREATE TABLE {NARROW} AS SELECT influencer_id, date, gmv, live_gmv, video_gmv, storefront_gmv, "
                       f"live_minutes, followers FROM tiers_dailymetric")
        cursor.execute(f"CREATE UNIQUE INDEX ON {NARROW} (influencer_id, date)")
        cursor.execute(f"VACUUM ANALYZE {NARROW}")
    started = time.perf_counter()
    _classify_all(f"""SELECT influencer_id, SUM(gmv) AS gmv, SUM(live_gmv) AS live_gmv, SUM(video_gmv) AS video_gmv,
                             SUM(storefront_gmv) AS storefront_gmv, SUM(live_minutes) AS live_minutes,
                             (ARRAY_AGG(followers ORDER BY date DESC))[1] AS followers
                      FROM {NARROW} WHERE date > %s AND date <= %s GROUP BY influencer_id""",
                  _window(), live="a.live_minutes", vertical="false")
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {NARROW}")
    return {"floor_seconds": round(seconds, 3)}


def _export(dump: Path, select: str) -> None:
    dump.parent.mkdir(exist_ok=True)
    with connection.cursor() as cursor, dump.open("wb") as out, cursor.copy(f"COPY ({select}) TO STDOUT") as copy:
        for block in copy:
            out.write(block)


def _timed_copy(dump: Path, table: str) -> float:
    """COPY the dump into `table` (timed); the dump is removed."""
    started = time.perf_counter()
    with connection.cursor() as cursor:
        with dump.open("rb") as source, cursor.copy(f"COPY {table} ({METRIC_COPY_COLUMNS}) FROM STDIN") as copy:
            while block := source.read(1 << 20):
                copy.write(block)
    seconds = time.perf_counter() - started
    dump.unlink()
    return seconds


def seed_copy_floor() -> dict:
    """COPY of every seeded metric row into an empty table shaped like DailyMetric (its indexes and checks): the floor
    that seed_demo is held to. The rows are exported untimed."""
    dump = IMPORT_FILE.with_suffix(".seed.copy")
    _export(dump, f"SELECT {METRIC_COPY_COLUMNS} FROM tiers_dailymetric")
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_seed_copy")
        cursor.execute("CREATE TABLE bench_seed_copy (LIKE tiers_dailymetric INCLUDING ALL)")
    seconds = _timed_copy(dump, "bench_seed_copy")
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_seed_copy")
    return {"copy_seconds": round(seconds, 3)}


def reset() -> None:
    with connection.cursor() as cursor:
        cursor.execute("UPDATE tiers_influencer SET tier = NULL, creator_type = NULL, tier_since = NULL, below_keep_since = NULL")
        cursor.execute("TRUNCATE tiers_tierdecision, tiers_refreshchunk, tiers_refreshrun CASCADE")
        cursor.execute("VACUUM ANALYZE tiers_influencer")


def refresh() -> dict:
    from tiers.models import TierDecision
    from tiers.refresh import refresh_run_sync

    run = refresh_run_sync()
    return {"decisions": TierDecision.objects.filter(refresh_run=run).count(), "total": run.total}


def assign() -> dict:
    from demo.programmes import seed_coaching_demo
    from coaching.services import assignment_run

    seed_coaching_demo(seed=38)  # idempotent: campaigns and products exist on a reused database too
    run = assignment_run()
    return {"changes": run.enrolled + run.advanced + run.graduated + run.exited, "enrolled": run.enrolled}


def reset_coaching() -> None:
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE coaching_enrollment, coaching_assignmentrun CASCADE")


def analyze() -> None:
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


# ---------------------------------------------------------------- metric import

IMPORT_FILE = Path(__file__).resolve().parent.parent / "bench-results" / "import.csv"
IMPORT_DAYS = 30
METRIC_COPY_COLUMNS = ("influencer_id, date, followers, gmv, live_gmv, video_gmv, storefront_gmv, orders, live_sessions, "
                       "live_minutes, big_live_sessions, videos_posted, entertainment_videos, reputation_score, "
                       "refund_rate, repeat_buyer_rate, category_gmv")


def import_file(rows: int) -> dict:
    """A metric file as ops get one: Chinese headers, ¥ and thousands separators, 万 and %, for
    rows / 30 creators the database does not know yet, 30 days each ending yesterday."""
    import numpy as np
    import polars as pl
    from django.utils import timezone

    rng = np.random.default_rng(11)
    creators = -(-rows // IMPORT_DAYS)
    creator = np.repeat(np.arange(creators), IMPORT_DAYS)[:rows]
    day = np.tile(np.arange(IMPORT_DAYS), creators)[:rows]
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    days = [(yesterday - datetime.timedelta(days=IMPORT_DAYS - 1 - k)).isoformat() for k in range(IMPORT_DAYS)]
    live, video, store = (np.round(rng.random(rows) * scale, 2) for scale in (50_000, 20_000, 20_000))
    followers = rng.integers(0, 5_000_000, rows)
    frame = pl.DataFrame({
        "达人ID": pl.Series(creator).map_elements(lambda k: f"imp-{k:07d}", return_dtype=pl.String),
        "达人昵称": pl.Series(creator).map_elements(lambda k: f"导入达人{k}", return_dtype=pl.String),
        "日期": pl.Series(days)[day.tolist()],
        "粉丝数": pl.Series(followers).map_elements(lambda f: f"{f / 10_000:.1f}万" if f >= 100_000 else str(f),
                                                    return_dtype=pl.String),
        "成交金额": pl.Series(live + video + store).map_elements(lambda v: f"¥{v:,.2f}", return_dtype=pl.String),
        "直播GMV": live, "短视频GMV": video, "橱窗GMV": store,
        "订单数": rng.integers(0, 1_000, rows), "直播场次": rng.integers(0, 3, rows),
        "直播时长(分钟)": rng.integers(0, 300, rows), "大场次数": rng.integers(0, 2, rows),
        "短视频数": rng.integers(0, 5, rows), "娱乐视频数": rng.integers(0, 3, rows),
        "带货口碑分": np.round(3 + rng.random(rows) * 2, 2),
        "退款率": pl.Series(rng.random(rows) * 20).map_elements(lambda r: f"{r:.1f}%", return_dtype=pl.String),
        "复购率": np.round(rng.random(rows) * 0.5, 4),
        "主营类目": pl.Series(rng.integers(0, 3, rows)).map_elements(lambda k: ["美妆", "食品", "服饰"][k],
                                                                   return_dtype=pl.String),
    })
    IMPORT_FILE.parent.mkdir(exist_ok=True)
    frame.write_csv(IMPORT_FILE)
    return {"rows": rows, "bytes": IMPORT_FILE.stat().st_size}


def import_run() -> dict:
    from tiers.imports import import_file as run

    batch = run(path=str(IMPORT_FILE))
    assert batch.status == "applied", batch.error
    return {"rows": batch.rows_read, "new": batch.new, "updated": batch.updated, "unchanged": batch.unchanged,
            "rejected": batch.rejected, "created": batch.creators_created}


def import_copy_floor() -> dict:
    """COPY of the same rows into the same table: they are exported, deleted, and COPYed back (timed)."""
    dump = IMPORT_FILE.with_suffix(".copy")
    imported = "influencer_id IN (SELECT id FROM tiers_influencer WHERE platform_id LIKE 'imp-%%')"
    _export(dump, f"SELECT {METRIC_COPY_COLUMNS} FROM tiers_dailymetric WHERE {imported.replace('%%', '%')}")
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM tiers_dailymetric WHERE {imported}")
        cursor.execute("VACUUM ANALYZE tiers_dailymetric")
    return {"copy_seconds": round(_timed_copy(dump, "tiers_dailymetric"), 3)}


def import_reset() -> None:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM tiers_dailymetric WHERE influencer_id IN "
                       "(SELECT id FROM tiers_influencer WHERE platform_id LIKE 'imp-%%')")
        cursor.execute("DELETE FROM tiers_importchange")
        cursor.execute("DELETE FROM tiers_importrejection")
        cursor.execute("DELETE FROM tiers_importbatch")
        cursor.execute("DELETE FROM tiers_influencer WHERE platform_id LIKE 'imp-%%'")
        cursor.execute("VACUUM ANALYZE tiers_dailymetric")
        cursor.execute("VACUUM ANALYZE tiers_influencer")


# ---------------------------------------------------------------- the ops desk

WHATIF_DRAFT = "bench what-if"


def whatif_reset() -> None:
    """Drop the drafts (and their previews) an earlier run left."""
    from tiers.models import TierPolicy

    TierPolicy.objects.filter(name=WHATIF_DRAFT, status="draft").delete()


def whatif() -> dict:
    """A draft lowering the mid line by a fifth, previewed over everyone in this process, chunk after chunk."""
    from ops.whatif import whatif_run_sync
    from tiers.models import TierPolicy
    from tiers.services import policy_clone, policy_update_draft

    draft = policy_clone(policy=TierPolicy.objects.published().get(), by=None)
    rules = dict(draft.rules)
    rules["mid"] = {**rules["mid"], "promote_gmv": "80000", "keep_gmv": "64000"}
    draft = policy_update_draft(policy=draft, rules=rules, name=WHATIF_DRAFT, by=None)
    preview = whatif_run_sync(policy=draft)
    assert preview.status == "succeeded", preview.error
    return {"total": preview.total, "moved": sum(preview.summary["moves"].values())}


def dashboard() -> dict:
    """The /ops/ page rendered server-side (view and template, no network): the best of three, and its queries."""
    from django.contrib.auth import get_user_model
    from django.test import RequestFactory
    from django.test.utils import CaptureQueriesContext

    from ops.views import dashboard as view

    user, _ = get_user_model().objects.get_or_create(username="bench-ops", defaults={"is_staff": True,
                                                                                      "is_superuser": True})
    timings = []
    for _attempt in range(3):
        request = RequestFactory().get("/ops/")
        request.user = user
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = view(request)
            timings.append(time.perf_counter() - started)
        assert response.status_code == 200
    return {"best_seconds": round(min(timings), 3), "queries": len(queries.captured_queries)}


def admin_changelist() -> dict:
    """The admin's creator list filtered by tier (mid), as staff open it: server time (view and template, in this
    process, no network), the best of three, and its queries."""
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    user, _ = get_user_model().objects.get_or_create(username="bench-ops", defaults={"is_staff": True,
                                                                                      "is_superuser": True})
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    timings = []
    for _attempt in range(3):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get("/admin/tiers/influencer/", {"tier__exact": "mid"})
            timings.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
    return {"best_seconds": round(min(timings), 3), "queries": len(queries.captured_queries)}


def creator_session() -> dict:
    """A logged-in creator's session cookie (creator1, linked to a classified creator), for the load test."""
    from django.conf import settings
    from django.test import Client

    from demo.population import demo_logins_ensure

    from django.contrib.auth import get_user_model

    demo_logins_ensure(password="bench-only")
    client = Client()
    client.force_login(get_user_model().objects.get(username="creator1"))
    return {"cookie": f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"}


def refresh_celery(queue: str) -> dict:
    """A refresh sent to the workers of `queue` (started by the caller); its wall time from the request to the
    run's end, as staff would see it."""
    from celery import current_app

    from tiers.choices import RunStatus, RunTrigger
    from tiers.models import RefreshRun, TierDecision
    from tiers.refresh import refresh_queue

    current_app.conf.task_default_queue = queue
    run = refresh_queue(trigger=RunTrigger.STAFF)
    while (run := RefreshRun.objects.get(pk=run.pk)).status == RunStatus.RUNNING:
        time.sleep(0.2)
    assert run.status == RunStatus.SUCCEEDED, run.error
    return {"decisions": TierDecision.objects.filter(refresh_run=run).count(), "total": run.total,
            "chunks": run.chunk_count}


def api_token() -> dict:
    """A write-metrics token for the API bench (the secret is printed: this is a throwaway bench database)."""
    from api.services import token_create

    return {"token": token_create(name="bench", scopes="write-metrics")[1]}


STAGES = {"admin_changelist": admin_changelist, "creator_session": creator_session, "refresh_celery": refresh_celery,
          "lean_floor": lean_floor, "seed_copy_floor": seed_copy_floor, "whatif_reset": whatif_reset, "whatif": whatif, "dashboard": dashboard,
          "floor": floor, "reset": reset, "refresh": refresh, "analyze": analyze, "assign": assign,
          "reset_coaching": reset_coaching, "import_file": import_file, "import": import_run,
          "import_copy_floor": import_copy_floor, "import_reset": import_reset, "api_token": api_token}

if __name__ == "__main__":
    stage = sys.argv[1]
    extra = sys.argv[2:]
    started = time.perf_counter()
    result = STAGES[stage](*(int(arg) if arg.isdigit() else arg for arg in extra)) or {}
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"stage": stage, "seconds": round(seconds, 3), "peak_mb": round(peak_mb, 1), **result}))

"""One benchmark stage in its own process, so its time and peak memory are its own; prints JSON."""

import json
import os
import resource
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from tiers.rules import PolicyRules  # noqa: E402
from tiers.selectors import policy_published, window_aggregate_sql, window_start  # noqa: E402


def floor() -> None:
    """The same window aggregate the refresh runs, a trivial CASE for the decision, one UPDATE for all."""
    rules = PolicyRules.from_json(policy_published().rules)
    aggregate, repeats = window_aggregate_sql()
    from django.utils import timezone

    today = timezone.localdate()
    window = [0, 10**12, window_start(today, rules.window_days), today]
    with connection.cursor() as cursor:
        cursor.execute("SET work_mem = '64MB'")
        cursor.execute("SET jit = off")
        cursor.execute(
            f"""
            UPDATE tiers_influencer AS i SET
                tier = CASE WHEN a.gmv >= %s THEN 'head' WHEN a.gmv >= %s THEN 'mid' ELSE 'tail' END,
                creator_type = CASE WHEN a.live_gmv * 2 >= a.gmv THEN 'persona' ELSE 'seeding' END
            FROM ({aggregate}) AS a WHERE i.id = a.influencer_id
            """,
            [rules.head.promote_gmv, rules.mid.promote_gmv, *window * repeats],
        )


def reset() -> None:
    with connection.cursor() as cursor:
        cursor.execute("UPDATE tiers_influencer SET tier = NULL, creator_type = NULL, tier_since = NULL, below_keep_since = NULL")
        cursor.execute("TRUNCATE tiers_tierdecision, tiers_refreshchunk, tiers_refreshrun CASCADE")
        cursor.execute("VACUUM ANALYZE tiers_influencer")


def refresh() -> dict:
    from tiers.models import TierDecision
    from tiers.services import refresh_run_sync

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


STAGES = {"floor": floor, "reset": reset, "refresh": refresh, "analyze": analyze, "assign": assign,
          "reset_coaching": reset_coaching}

if __name__ == "__main__":
    stage = sys.argv[1]
    extra = sys.argv[2:]
    started = time.perf_counter()
    result = STAGES[stage](*map(int, extra)) or {}
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"stage": stage, "seconds": round(seconds, 3), "peak_mb": round(peak_mb, 1), **result}))

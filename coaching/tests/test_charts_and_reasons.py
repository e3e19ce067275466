"""The trend chart's geometry and the plain-language reasons are pure and say the right thing."""

import datetime
from decimal import Decimal

from coaching.charts import trend_chart
from coaching.explain import tier_reason, type_reason
from tiers.rules import RuleCheck

DAY = datetime.date(2026, 11, 1)


def test_bars_stack_by_channel_and_scale_to_the_best_day():
    rows = [(DAY, Decimal(60), Decimal(30), Decimal(10), 1000),
            (DAY + datetime.timedelta(days=1), Decimal(0), Decimal(0), Decimal(50), 1500)]

    chart = trend_chart(rows, width=104, height=108, pad=4)

    first_day = [b for b in chart.bars if b.day == DAY]
    assert [b.channel for b in first_day] == ["live", "video", "storefront"]
    assert sum(b.height for b in first_day) == 100.0  # the best day fills the height
    assert [b.height for b in chart.bars if b.day != DAY] == [50.0]
    assert chart.followers_points.count(",") == 2 and chart.max_followers == 1500


def test_no_sales_gives_an_empty_chart():
    assert trend_chart([]).empty


def test_reasons_name_the_creators_numbers_in_both_languages():
    tail = [RuleCheck("mid.promote_gmv", "gmv", "60000", "100000", False),
            RuleCheck("mid.reputation_floor", "reputation", "4.5", "4.0", True)]
    newcomer = [RuleCheck("newcomer.onboarding", "days_since_onboarding", "12", "30", False),
                RuleCheck("newcomer.active_days", "active_days", "5", "7", True)]
    pinned = [RuleCheck("override.tier", "tier", "head", "mid", True, "Signed key account")]

    assert tier_reason("tail", tail, "zh-hans") == "周期内GMV ¥6万，腰部门槛为¥10万。"
    assert tier_reason("tail", tail, "en") == "GMV of ¥60,000 in the window; the mid line is ¥100,000."
    assert "12" in tier_reason("newcomer", newcomer, "en") and "30" in tier_reason("newcomer", newcomer, "en")
    assert tier_reason("head", pinned, "en") == "Set by the creator-ops team: Signed key account"
    assert type_reason(None, None, "zh-hans") == "数据还不足以判断类型。"


def test_a_judged_creator_with_a_thin_window_is_told_so_and_never_called_a_newcomer():
    thin = [RuleCheck("activity.active_days", "active_days", "3", "7", False),
            RuleCheck("mid.promote_gmv", "gmv", "90000", "100000", False),
            RuleCheck("mid.promote_followers", "followers", "1000", "500000", False),
            RuleCheck("mid.keep_gmv", "gmv", "90000", "80000", True)]
    empty = [RuleCheck("activity.active_days", "active_days", "0", "7", False),
             RuleCheck("mid.promote_gmv", "gmv", "0", "100000", False),
             RuleCheck("mid.keep_gmv", "gmv", "0", "80000", False),
             RuleCheck("anti_flap.grace", "days_below_keep", "0", "14", False)]

    assert tier_reason("mid", thin, "en").startswith(
        "You sold on only 3 days in the window; your tier is still judged on your sales.")
    assert tier_reason("mid", thin, "zh-hans").startswith("周期内只有3天有成交，等级照常按销售额评定。")
    assert tier_reason("mid", empty, "en") == (
        "No sales in the window: your tier is judged on zero sales. The keep line is ¥80,000; you have ¥0. "
        "Below the keep line for 0 of 14 grace days.")
    for reason in (tier_reason("mid", thin, "en"), tier_reason("mid", empty, "en")):
        assert "newcomer" not in reason and "rated once" not in reason


def test_a_type_kept_through_an_empty_window_says_so():
    assert type_reason("persona", None, "en") == "No sales or videos in the window: your type stays as it was."
    assert type_reason("persona", None, "zh-hans") == "周期内没有成交或视频，类型沿用之前的判断。"

"""Plain-language reasons for a creator's tier and type, from the decision's checks (pure)."""

from tiers.choices import Tier

from .formatting import count, is_chinese, money, percent, score

TIER_NAMES = {
    "zh": {Tier.HEAD: "头部", Tier.MID: "腰部", Tier.TAIL: "尾部", Tier.NEWCOMER: "新手"},
    "en": {Tier.HEAD: "head", Tier.MID: "mid", Tier.TAIL: "tail", Tier.NEWCOMER: "newcomer"},
}
TYPE_NAMES = {
    "zh": {"persona": "人设型", "vertical": "垂直型", "seeding": "种草型", "entertainment": "娱乐型"},
    "en": {"persona": "persona", "vertical": "vertical", "seeding": "seeding", "entertainment": "entertainment"},
}


def _lang(language):
    return "zh" if is_chinese(language) else "en"


def _by_rule(checks) -> dict:
    return {c.rule: c for c in checks}


def tier_reason(tier: str | None, checks, language: str) -> str:
    """One or two sentences saying why the creator is in `tier`, with their own numbers."""
    zh = _lang(language) == "zh"
    by = _by_rule(checks)
    parts = []
    if "override.tier" in by:
        note = by["override.tier"].note
        return f"由达人运营团队设定：{note}" if zh else f"Set by the creator-ops team: {note}"
    if tier == Tier.NEWCOMER or tier is None:
        if "newcomer.no_metrics" in by:
            return "还没有销售数据，开始带货后就会评级。" if zh else "No sales data yet: you will be rated once you start selling."
        onboarding, active = by.get("newcomer.onboarding"), by.get("newcomer.active_days")
        if onboarding and not onboarding.passed:
            parts.append(f"入驻第{onboarding.value}天，满{onboarding.threshold}天后开始评级。" if zh else
                         f"Day {onboarding.value} since your first sale; rating starts after {onboarding.threshold} days.")
        if active and not active.passed:
            parts.append(f"近期有成交的天数为{active.value}天，需要至少{active.threshold}天。" if zh else
                         f"You sold on {active.value} days in the window; at least {active.threshold} are needed.")
        return "".join(parts) if zh else " ".join(parts)
    # A judged creator is never a newcomer again: a thin window is said, and the tier judged as usual.
    activity = by.get("activity.active_days")
    if activity is not None and not activity.passed:
        if activity.value == "0":
            parts.append("周期内没有成交，等级按零销售额评定。" if zh else
                         "No sales in the window: your tier is judged on zero sales.")
        else:
            parts.append(f"周期内只有{activity.value}天有成交，等级照常按销售额评定。" if zh else
                         f"You sold on only {activity.value} days in the window; your tier is still judged on your sales.")
    for level in (Tier.HEAD, Tier.MID):
        promote = by.get(f"{level}.promote_gmv")
        if tier == level and promote is not None:
            gmv, line = money(promote.value, language), money(promote.threshold, language)
            if promote.passed:
                parts.append(f"周期内GMV {gmv}，达到{TIER_NAMES['zh'][level]}门槛{line}。" if zh else
                             f"GMV of {gmv} in the window meets the {level} line of {line}.")
            else:
                follow = by.get(f"{level}.promote_followers")
                if follow is not None and follow.passed:
                    parts.append(f"粉丝{count(follow.value, language)}，达到粉丝通道门槛。" if zh else
                                 f"{count(follow.value, language)} followers meet the followers path.")
                keep = by.get(f"{level}.keep_gmv")
                if keep is not None:
                    parts.append(f"保级线{money(keep.threshold, language)}，当前{money(keep.value, language)}。" if zh else
                                 f"The keep line is {money(keep.threshold, language)}; you have {money(keep.value, language)}.")
    if tier == Tier.TAIL:
        promote = by.get("mid.promote_gmv")
        if promote is not None:
            gmv, line = money(promote.value, language), money(promote.threshold, language)
            parts.append(f"周期内GMV {gmv}，腰部门槛为{line}。" if zh else f"GMV of {gmv} in the window; the mid line is {line}.")
        floor = by.get("mid.reputation_floor")
        if promote is not None and promote.passed and floor is not None and not floor.passed:
            parts.append(f"带货口碑分{score(floor.value or None, language)}，晋级需要{floor.threshold}。" if zh else
                         f"Your reputation score {score(floor.value or None, language)} is below the {floor.threshold} "
                         f"needed to move up.")
    grace = by.get("anti_flap.grace")
    if grace is not None and not grace.passed:
        parts.append(f"已低于保级线{grace.value}天，宽限期{grace.threshold}天。" if zh else
                     f"Below the keep line for {grace.value} of {grace.threshold} grace days.")
    return "".join(parts) if zh else " ".join(parts)


def type_reason(creator_type: str | None, features, language: str) -> str:
    """Why this type: the figure that defines it, for this creator."""
    zh = _lang(language) == "zh"
    if creator_type is None:
        return "数据还不足以判断类型。" if zh else "Not enough data to tell your type yet."
    if features is None or not (features.gmv > 0 or features.videos_posted > 0):
        # tiers.rules keeps the last type through a window with nothing in it.
        return ("周期内没有成交或视频，类型沿用之前的判断。" if zh else
                "No sales or videos in the window: your type stays as it was.")
    if creator_type == "seeding":
        share = percent(features.short_video_storefront_share, language)
        return f"短视频和橱窗成交占{share}。" if zh else f"{share} of your sales come from short videos and the storefront."
    if creator_type == "vertical":
        share = percent(features.top_category_share, language)
        return f"一个类目占成交的{share}。" if zh else f"One category makes {share} of your sales."
    if creator_type == "persona":
        live, repeat = percent(features.live_share, language), percent(features.repeat_buyer_rate, language)
        return (f"直播成交占{live}，{features.live_days}天开播，回头客{repeat}。" if zh else
                f"Live sessions make {live} of sales over {features.live_days} live days, with {repeat} repeat buyers.")
    share = percent(features.entertainment_video_share, language)
    return (f"娱乐内容占视频的{share}，或成交集中在少数大场。" if zh else
            f"Entertainment makes {share} of your videos, or most sales come from a few big live events.")

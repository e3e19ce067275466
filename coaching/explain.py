"""Plain-language reasons for a creator's tier and type, from the decision's checks (pure)."""

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.language import in_sentence, sentences, speaking
from tiers.choices import Tier

from .formatting import count, money, percent, score


def _by_rule(checks) -> dict:
    return {c.rule: c for c in checks}


def tier_reason(tier: str | None, checks, language: str | None = None) -> str:
    """One or two sentences saying why the creator is in `tier`, with their own numbers, in
    `language` (the active one when None)."""
    with speaking(language):
        return _tier_reason(tier, _by_rule(checks))


def _tier_reason(tier, by) -> str:
    if "override.tier" in by:
        return _("Set by the creator-ops team: %(note)s") % {"note": by["override.tier"].note}
    parts = []
    if tier == Tier.NEWCOMER or tier is None:
        if "newcomer.no_metrics" in by:
            return _("No sales data yet: you will be rated once you start selling.")
        onboarding, active = by.get("newcomer.onboarding"), by.get("newcomer.active_days")
        if onboarding and not onboarding.passed:
            parts.append(ngettext("Day %(day)s since your first sale; rating starts after %(days)s day.",
                                  "Day %(day)s since your first sale; rating starts after %(days)s days.",
                                  int(onboarding.threshold)) % {"day": onboarding.value, "days": onboarding.threshold})
        if active and not active.passed:
            parts.append(ngettext("You sold on %(days)s day in the window; at least %(needed)s are needed.",
                                  "You sold on %(days)s days in the window; at least %(needed)s are needed.",
                                  int(active.value)) % {"days": active.value, "needed": active.threshold})
        return sentences(parts)
    # A judged creator is never a newcomer again: a thin window is said, and the tier judged as usual.
    activity = by.get("activity.active_days")
    if activity is not None and not activity.passed:
        if activity.value == "0":
            parts.append(_("No sales in the window: your tier is judged on zero sales."))
        else:
            parts.append(ngettext("You sold on only %(days)s day in the window; your tier is still judged on your sales.",
                                  "You sold on only %(days)s days in the window; your tier is still judged on your sales.",
                                  int(activity.value)) % {"days": activity.value})
    for level in (Tier.HEAD, Tier.MID):
        promote = by.get(f"{level}.promote_gmv")
        if tier == level and promote is not None:
            if promote.passed:
                parts.append(_("GMV of %(gmv)s in the window meets the %(tier)s line of %(line)s.") % {
                    "gmv": money(promote.value), "tier": in_sentence(level.label), "line": money(promote.threshold)})
            else:
                follow = by.get(f"{level}.promote_followers")
                if follow is not None and follow.passed:
                    parts.append(_("%(followers)s followers meet the followers path.") % {
                        "followers": count(follow.value)})
                keep = by.get(f"{level}.keep_gmv")
                if keep is not None:
                    parts.append(_("The keep line is %(line)s; you have %(gmv)s.") % {
                        "line": money(keep.threshold), "gmv": money(keep.value)})
    if tier == Tier.TAIL:
        promote = by.get("mid.promote_gmv")
        if promote is not None:
            parts.append(_("GMV of %(gmv)s in the window; the mid line is %(line)s.") % {
                "gmv": money(promote.value), "line": money(promote.threshold)})
        floor = by.get("mid.reputation_floor")
        if promote is not None and promote.passed and floor is not None and not floor.passed:
            parts.append(_("Your reputation score %(score)s is below the %(floor)s needed to move up.") % {
                "score": score(floor.value or None), "floor": floor.threshold})
    grace = by.get("anti_flap.grace")
    if grace is not None and not grace.passed:
        parts.append(ngettext("Below the keep line for %(days)s of %(grace)s grace day.",
                              "Below the keep line for %(days)s of %(grace)s grace days.",
                              int(grace.threshold)) % {"days": grace.value, "grace": grace.threshold})
    return sentences(parts)


def type_reason(creator_type: str | None, features, language: str | None = None) -> str:
    """Why this type: the figure that defines it, for this creator, in `language` (the active one when None)."""
    with speaking(language):
        return _type_reason(creator_type, features)


def _type_reason(creator_type, features) -> str:
    if creator_type is None:
        return _("Not enough data to tell your type yet.")
    if features is None or not (features.gmv > 0 or features.videos_posted > 0):
        # tiers.rules keeps the last type through a window with nothing in it.
        return _("No sales or videos in the window: your type stays as it was.")
    if creator_type == "seeding":
        return _("%(share)s of your sales come from short videos and the storefront.") % {
            "share": percent(features.short_video_storefront_share)}
    if creator_type == "vertical":
        return _("One category makes %(share)s of your sales.") % {"share": percent(features.top_category_share)}
    if creator_type == "persona":
        return ngettext(
            "Live sessions make %(live)s of sales over %(days)s live day, with %(repeat)s repeat buyers.",
            "Live sessions make %(live)s of sales over %(days)s live days, with %(repeat)s repeat buyers.",
            features.live_days,
        ) % {"live": percent(features.live_share), "days": features.live_days,
             "repeat": percent(features.repeat_buyer_rate)}
    return _("Entertainment makes %(share)s of your videos, or most sales come from a few big live events.") % {
        "share": percent(features.entertainment_video_share)}

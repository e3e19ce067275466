"""The policy editor staff use: one labelled field per rule, with its unit, validated by PolicyRules itself."""

from dataclasses import dataclass
from decimal import Decimal

from django import forms
from django.contrib.humanize.templatetags.humanize import intcomma
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.validation import NOT_A_SHARE, decimal

from .models import TierPolicy
from .rules import KEEP_ABOVE_PROMOTE, MID_NOT_BELOW_HEAD, WINDOW_OUT_OF_RANGE, PolicyError, PolicyRules

MONEY, COUNT, DAYS, PERCENT, SCORE, STEPS = "money", "count", "days", "percent", "score", "steps"
UNIT_SUFFIX = {MONEY: "", COUNT: _("followers"), DAYS: _("days"), PERCENT: "%", SCORE: _("of 5"), STEPS: _("tiers")}


@dataclass(frozen=True)
class Rule:
    path: str  # dotted, as PolicyRules.to_json() and its errors name it
    label: str
    unit: str
    help: str

    @property
    def name(self) -> str:
        return self.path.replace(".", "__")


def _tier_rules(tier: str, words) -> list[Rule]:
    return [
        Rule(f"{tier}.promote_gmv", _("promote at GMV"), MONEY, words["promote_gmv"]),
        Rule(f"{tier}.promote_followers", _("or promote at followers"), COUNT,
             _("Followers that promote together with the GMV below.")),
        Rule(f"{tier}.promote_followers_gmv", _("with GMV at least"), MONEY,
             _("The GMV a creator with that many followers needs.")),
        Rule(f"{tier}.keep_gmv", _("keep while GMV"), MONEY,
             _("Below this line the grace period starts; it must not be above the promote line.")),
        Rule(f"{tier}.reputation_floor", _("reputation floor (带货口碑分)"), SCORE,
             _("Needed to be promoted into this tier, 0 to 5.")),
    ]


# Grouped as ops read them; every field of PolicyRules appears exactly once (a test holds them equal).
GROUPS = [
    (_("Window"), [Rule("window_days", _("window"), DAYS, _("The days of metrics a decision reads, 1 to 90."))]),
    (_("Head"), _tier_rules("head", {"promote_gmv": _("GMV in the window that promotes to head.")})),
    (_("Mid"), _tier_rules("mid", {"promote_gmv": _("GMV in the window that promotes to mid; below the head line.")})),
    (_("Newcomer"), [
        Rule("newcomer.min_days_since_onboarding", _("judged after"), DAYS,
             _("A creator never judged stays a newcomer until this many days after their first sale…")),
        Rule("newcomer.min_active_days", _("and active days at least"), DAYS,
             _("…and this many selling days in the window.")),
    ]),
    (_("Anti-flap"), [
        Rule("anti_flap.max_steps_down", _("at most down per refresh"), STEPS, _("Tiers a refresh may demote by, at least 1.")),
        Rule("anti_flap.min_days_in_tier", _("minimum stay in a new tier"), DAYS, _("No demotion before this many days.")),
        Rule("anti_flap.grace_days", _("grace below the keep line"), DAYS,
             _("Days below the keep line before a demotion.")),
    ]),
    (_("Type: seeding"), [
        Rule("types.seeding_min_share", _("short video + storefront share of GMV"), PERCENT, _("At least this share."))]),
    (_("Type: vertical"), [
        Rule("types.vertical_min_top_category_share", _("top category share of GMV"), PERCENT, _("At least this share."))]),
    (_("Type: entertainment"), [
        Rule("types.entertainment_min_video_share", _("entertainment share of videos"), PERCENT,
             _("At least this share of videos…")),
        Rule("types.entertainment_min_big_live_share", _("or big live events' share of GMV"), PERCENT,
             _("…or at least this share of GMV from big live events…")),
        Rule("types.entertainment_max_big_live_days", _("on at most"), DAYS, _("…held on at most this many days.")),
    ]),
    (_("Type: persona"), [
        Rule("types.persona_min_live_share", _("live share of GMV"), PERCENT, _("At least this share…")),
        Rule("types.persona_min_live_days", _("live days at least"), DAYS, _("…on at least this many live days…")),
        Rule("types.persona_min_repeat_buyer_rate", _("repeat buyers at least"), PERCENT, _("…with this repeat-buyer rate.")),
    ]),
    (_("Type switch"), [
        Rule("types.switch_margin", _("switch margin"), PERCENT,
             _("A creator keeps their type unless another type's score leads by more than this.")),
    ]),
]
RULES = [rule for _group, rules in GROUPS for rule in rules]
BY_PATH = {rule.path: rule for rule in RULES}


def _get(data: dict, path: str):
    for key in path.split("."):
        data = data.get(key, {}) if isinstance(data, dict) else {}
    return data if data != {} else None


def shown(rule: Rule, value) -> str:
    """A stored rule value as the field shows it: shares as percentages (0.6 → 60)."""
    if value is None:
        return ""
    if rule.unit == PERCENT:
        number = decimal(value)
        return str(value) if number is None else _plain(number * 100)
    return str(value)


def _plain(number: Decimal) -> str:
    return format(number.normalize(), "f")


def stored(rule: Rule, text: str):
    """What a field's text is stored as: a percentage back to a share (60 → "0.6"); text that is no number
    goes to the validator as typed, for it to name."""
    text = (text or "").strip()
    if rule.unit == PERCENT:
        number = decimal(text.rstrip("%").strip())
        return text if number is None else _plain(number / 100)
    return text.replace(",", "")


def display(rule: Rule, value) -> str:
    """A rule value for reading, with its unit: ¥100,000 · 500,000 followers · 14 days · 60%."""
    text = shown(rule, value)
    if not text:
        return "—"
    if rule.unit == MONEY:
        return f"¥{intcomma(text)}"
    if rule.unit == COUNT:
        return f"{intcomma(text)} {UNIT_SUFFIX[COUNT]}"
    suffix = UNIT_SUFFIX[rule.unit]
    return f"{text}%" if rule.unit == PERCENT else f"{text} {suffix}"


# The validator's messages as staff read them on a field: shares as percentages, rules named by their labels.
# Compared when an error is shown, in the language it was written in (the constants are lazy translations).
_MESSAGES = [
    (WINDOW_OUT_OF_RANGE, _("must be between 1 and 90 days")),
    (NOT_A_SHARE, _("must be between 0% and 100%")),
]
_NAMING = [(KEEP_ABOVE_PROMOTE, _("must not be above “%(field)s”")),
           (MID_NOT_BELOW_HEAD, _("must be below head's “%(field)s”"))]


def field_error(message: str) -> str:
    """One validator message for a field, in the staff's language; a line it names by path is named by its label."""
    for constant, shown_instead in _MESSAGES:
        if message == str(constant):
            return str(shown_instead)
    for constant, naming in _NAMING:
        prefix, _brace, rest = str(constant).partition("{")
        suffix = rest.partition("}")[2]
        if message.startswith(prefix) and message.endswith(suffix):
            path = message[len(prefix):len(message) - len(suffix)].strip()
            if path in BY_PATH:
                return str(naming) % {"field": BY_PATH[path].label}
    return message


class _RuleFields(forms.ModelForm):
    class Meta:
        model = TierPolicy
        fields = ("name", "notes")

    # The published version's rules, to show beside each field (the admin sets it per request).
    published_rules: dict | None = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        published_rules = self.published_rules
        rules = self.instance.rules if self.instance.pk else self.initial.get("rules") or PolicyRules.default().to_json()
        for rule in RULES:
            field = self.fields[rule.name]
            self.initial.setdefault(rule.name, shown(rule, _get(rules, rule.path)))
            if published_rules is not None:
                before = _get(published_rules, rule.path)
                field.help_text = format_html("{} <span class=\"published\">{}</span>", rule.help,
                                              gettext("Published: %(value)s") % {"value": display(rule, before)})
                if shown(rule, before) != self.initial[rule.name]:
                    field.widget.attrs["class"] = "changed"

    def rules_from_fields(self) -> dict:
        rules: dict = {}
        for rule in RULES:
            section, _dot, key = rule.path.rpartition(".")
            target = rules.setdefault(section, {}) if section else rules
            target[key] = stored(rule, self.data.get(self.add_prefix(rule.name), ""))
        return rules

    def clean(self):
        cleaned = super().clean()
        try:
            cleaned["rules"] = PolicyRules.from_json(self.rules_from_fields()).to_json()
        except PolicyError as exc:
            for line in exc.errors:
                path, _sep, message = line.partition(": ")
                rule = BY_PATH.get(path)
                if rule is None:
                    self.add_error(None, line)
                else:
                    self.add_error(rule.name, field_error(message))
        return cleaned


def _rule_field(rule: Rule) -> forms.CharField:
    widget = forms.TextInput(attrs={"inputmode": "decimal", "size": 14})
    label = format_html("{} ({})", rule.label, "¥" if rule.unit == MONEY else UNIT_SUFFIX[rule.unit])
    # Parsing and every check are PolicyRules.from_json's: the field only carries the text.
    return forms.CharField(label=label, widget=widget, required=False, help_text=rule.help)


TierPolicyForm = type("TierPolicyForm", (_RuleFields,), {
    "__module__": __name__, "__doc__": "A policy's rules, one labelled field each; the JSON stays the stored form.",
    **{rule.name: _rule_field(rule) for rule in RULES}})


def fieldsets() -> list:
    """The editor's groups, as admin fieldsets."""
    return [(None, {"fields": ("name", "notes")}),
            *((title, {"fields": [rule.name for rule in rules]}) for title, rules in GROUPS)]


def comparison_table(rules: dict, published: dict | None):
    """Every rule side by side with the published version's; changed values highlighted."""
    if published is None:
        return gettext("No published policy to compare with.")
    rows = []
    for title, group in GROUPS:
        rows.append(format_html('<tr class="group"><th colspan="3">{}</th></tr>', title))
        for rule in group:
            before, after = _get(published, rule.path), _get(rules, rule.path)
            changed = shown(rule, before) != shown(rule, after)
            rows.append(format_html('<tr{}><td>{}</td><td>{}</td><td>{}</td></tr>',
                                    mark_safe(' class="changed"') if changed else "", rule.label,
                                    display(rule, before), display(rule, after)))
    header = format_html("<tr><th>{}</th><th>{}</th><th>{}</th></tr>", _("rule"), _("published"), _("this version"))
    return format_html('<table class="policy-compare">{}{}</table>', header, format_html_join("", "{}", ((r,) for r in rows)))


def form_data(rules: dict) -> dict:
    """The editor's fields as a browser sends them for these rules (tests, and anything that posts the form)."""
    return {rule.name: shown(rule, _get(rules, rule.path)) for rule in RULES}

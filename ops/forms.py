"""Forms of the ops desk: the query parameters staff send, validated (a bad one is a 400 that says which)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from tiers.choices import Category, CreatorType, Tier

FLAP_MAX_DAYS = 365
FORMATS = (("csv", "CSV"), ("xlsx", "XLSX"))


class FlapForm(forms.Form):
    """The flap report's N (changes) and M (days)."""

    changes = forms.IntegerField(label=_("tier changes at least"), min_value=2, max_value=100, initial=2, required=False)
    days = forms.IntegerField(label=_("in the last days"), min_value=1, max_value=FLAP_MAX_DAYS, initial=30,
                              required=False)

    def values(self) -> tuple[int, int]:
        data = self.cleaned_data
        return data.get("changes") or self.fields["changes"].initial, data.get("days") or self.fields["days"].initial


def _choice(label, choices):
    return forms.ChoiceField(label=label, choices=[("", "—"), *choices], required=False)


class CreatorFilterForm(forms.Form):
    """The creator list's filters, as the admin's list filters name them."""

    tier = _choice(_("tier"), Tier.choices)
    creator_type = _choice(_("creator type"), CreatorType.choices)
    main_category = _choice(_("main category"), Category.choices)


class LedgerFilterForm(forms.Form):
    since = forms.DateField(label=_("decided on or after"), required=False)
    until = forms.DateField(label=_("decided on or before"), required=False)
    tier_after = _choice(_("tier after"), Tier.choices)

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            self.add_error("until", _("must not be before the first day"))
        return cleaned

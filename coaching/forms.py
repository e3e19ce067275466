"""Forms of the creator pages: validation only; writes go through services."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from tiers.choices import Category
from tiers.forms import OverrideForm

from .choices import ReviewStatus


class PoolFilterForm(forms.Form):
    category = forms.ChoiceField(label=_("Category"), required=False, choices=[("", _("All categories")), *Category.choices])
    price_max = forms.DecimalField(label=_("Price up to (¥)"), required=False, min_value=0, max_digits=10, decimal_places=2)
    commission_min = forms.DecimalField(label=_("Commission at least (%)"), required=False, min_value=0, max_value=100,
                                        max_digits=5, decimal_places=2)

    def apply(self, entries):
        data = self.cleaned_data
        if data.get("category"):
            entries = entries.filter(product__category=data["category"])
        if data.get("price_max") is not None:
            entries = entries.filter(product__price__lte=data["price_max"])
        if data.get("commission_min") is not None:
            entries = entries.filter(product__commission_rate__gte=data["commission_min"] / Decimal(100))
        return entries


class ReviewForm(forms.Form):
    subject = forms.ChoiceField(label=_("What should we review?"),
                                choices=[("tier", _("My tier")), ("creator_type", _("My creator type"))])
    message = forms.CharField(label=_("Your message"), max_length=1000, widget=forms.Textarea(attrs={"rows": 3}))


class ReviewUpholdForm(forms.Form):
    reply = forms.CharField(label=_("Reply to the creator"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))


class ReviewOverrideForm(OverrideForm):
    reply = forms.CharField(label=_("Reply to the creator"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))


class ReviewQueueFilter(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=ReviewStatus.choices, required=False)

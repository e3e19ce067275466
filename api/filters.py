"""Query filters of the API's lists (django-filter), named in the product's words."""

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from coaching.choices import EnrollmentStatus, ProgramKind
from coaching.models import Enrollment, Program
from tiers.choices import Category, CreatorType, DecisionCause, InfluencerStatus, RunStatus, Tier
from tiers.models import Influencer, RefreshRun, TierDecision


class InfluencerFilter(django_filters.FilterSet):
    tier = django_filters.ChoiceFilter(choices=Tier.choices)
    type = django_filters.ChoiceFilter(field_name="creator_type", choices=CreatorType.choices)
    category = django_filters.ChoiceFilter(field_name="main_category", choices=Category.choices)
    status = django_filters.ChoiceFilter(choices=InfluencerStatus.choices)
    updated_since = django_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte",
                                                     label=_("changed at or after (ISO 8601)"))
    search = django_filters.CharFilter(method="search_handle_or_id", max_length=64,
                                       label=_("handle or platform id contains"))

    class Meta:
        model = Influencer
        fields = ["tier", "type", "category", "status", "updated_since", "search"]

    def search_handle_or_id(self, queryset, name, value):
        return queryset.filter(Q(handle__icontains=value) | Q(platform_id__icontains=value))


class DecisionFilter(django_filters.FilterSet):
    influencer = django_filters.NumberFilter(field_name="influencer_id", min_value=1)
    platform_id = django_filters.CharFilter(field_name="influencer__platform_id", max_length=64)
    refresh_run = django_filters.NumberFilter(field_name="refresh_run_id", min_value=1)
    cause = django_filters.ChoiceFilter(choices=DecisionCause.choices)
    decided_from = django_filters.DateFilter(field_name="decided_on", lookup_expr="gte")
    decided_to = django_filters.DateFilter(field_name="decided_on", lookup_expr="lte")

    class Meta:
        model = TierDecision
        fields = ["influencer", "platform_id", "refresh_run", "cause", "decided_from", "decided_to"]


class RefreshRunFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=RunStatus.choices)

    class Meta:
        model = RefreshRun
        fields = ["status"]


class ProgramFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=ProgramKind.choices)

    class Meta:
        model = Program
        fields = ["kind"]


class EnrollmentFilter(django_filters.FilterSet):
    influencer = django_filters.NumberFilter(field_name="influencer_id", min_value=1)
    program = django_filters.NumberFilter(field_name="program_id", min_value=1)
    status = django_filters.ChoiceFilter(choices=EnrollmentStatus.choices)

    class Meta:
        model = Enrollment
        fields = ["influencer", "program", "status"]

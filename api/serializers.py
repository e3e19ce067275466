"""What the API reads and writes, as JSON: output shapes of the models and plan, and the few inputs."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from coaching.choices import ReviewSubject
from coaching.models import Enrollment, PoolProduct, Product, Program, ReviewRequest, Stage, Task
from tiers.models import Influencer, RefreshRun, TierDecision, TierOverride, TierPolicy

from .services import BULK_MAX_ROWS, bulk_fields

# ---------------------------------------------------------------- errors (documented on every operation)


class ProblemSerializer(serializers.Serializer):
    index = serializers.IntegerField(allow_null=True, help_text="The item's position in the request's list (from 0), "
                                                                "or null when the problem is not one item's.")
    field = serializers.CharField(help_text="The field at fault ('' when the whole item is).")
    message = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What is wrong, in the caller's language.")
    code = serializers.CharField()
    errors = ProblemSerializer(many=True, required=False, help_text="Each refused item and field (400 only).")


# ---------------------------------------------------------------- creators, the ledger, policies, runs


class OverrideSerializer(serializers.ModelSerializer):
    class Meta:
        model = TierOverride
        fields = ["id", "field", "value", "reason", "expires_at", "created_at"]


class InfluencerSerializer(serializers.ModelSerializer):
    type = serializers.CharField(source="creator_type", allow_null=True)

    class Meta:
        model = Influencer
        fields = ["id", "platform_id", "handle", "display_name", "main_category", "status", "tier", "type",
                  "tier_since", "onboarded_on", "updated_at"]


class InfluencerDetailSerializer(InfluencerSerializer):
    explanation = serializers.SerializerMethodField(help_text="The live decision: every check with its input, "
                                                              "threshold and result, and the type scores.")
    open_overrides = serializers.SerializerMethodField()

    class Meta(InfluencerSerializer.Meta):
        fields = [*InfluencerSerializer.Meta.fields, "below_keep_since", "explanation", "open_overrides"]

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_explanation(self, influencer):
        return self.context["explanation"]

    @extend_schema_field(OverrideSerializer(many=True))
    def get_open_overrides(self, influencer):
        return OverrideSerializer(self.context["open_overrides"], many=True).data


class DecisionSerializer(serializers.ModelSerializer):
    platform_id = serializers.CharField(source="influencer.platform_id")
    policy_version = serializers.IntegerField(source="policy.version")
    features = serializers.JSONField()
    explanation = serializers.JSONField()

    class Meta:
        model = TierDecision
        fields = ["id", "influencer", "platform_id", "tier_before", "tier_after", "type_before", "type_after",
                  "policy_version", "cause", "refresh_run", "decided_on", "effective_at", "created_at", "features",
                  "explanation"]


class PolicySerializer(serializers.ModelSerializer):
    class Meta:
        model = TierPolicy
        fields = ["id", "version", "name", "status", "notes", "published_at", "created_at"]


class PolicyRulesSerializer(serializers.ModelSerializer):
    rules = serializers.JSONField()

    class Meta:
        model = TierPolicy
        fields = ["id", "version", "status", "rules"]


class RefreshRunSerializer(serializers.ModelSerializer):
    policy_version = serializers.IntegerField(source="policy.version")
    progress = serializers.SerializerMethodField(help_text="Creators done out of the run's total, 0–1.")

    class Meta:
        model = RefreshRun
        fields = ["id", "status", "trigger", "run_date", "policy_version", "total", "done", "progress", "chunk_count",
                  "chunks_done", "newly_classified", "promoted", "demoted", "unchanged", "type_changed",
                  "overrides_lapsed", "started_at", "finished_at", "error"]

    def get_progress(self, run) -> float:
        return round(run.done / run.total, 4) if run.total else 0.0


class RefreshStartedSerializer(serializers.Serializer):
    message = serializers.CharField(help_text="What became of the request: queued, queued after a running one, "
                                              "or failed.")
    run = RefreshRunSerializer()


# ---------------------------------------------------------------- coaching


class ProgramSerializer(serializers.ModelSerializer):
    name = serializers.CharField()
    description = serializers.CharField()

    class Meta:
        model = Program
        fields = ["id", "code", "kind", "name", "description", "enrollment_policy", "eligible_tiers", "eligible_types",
                  "eligible_categories", "capacity", "starts_on", "ends_on", "is_active", "selection_limit"]


class EnrollmentSerializer(serializers.ModelSerializer):
    platform_id = serializers.CharField(source="influencer.platform_id")
    program_code = serializers.CharField(source="program.code")

    class Meta:
        model = Enrollment
        fields = ["id", "influencer", "platform_id", "program", "program_code", "stage", "status", "source", "reason",
                  "enrolled_on", "stage_entered_on", "ended_on", "graduated_on"]


class ProductSerializer(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = ["id", "merchant", "title", "category", "price", "commission_rate", "product_score",
                  "shop_experience_score", "stock", "status"]


class PoolProductSerializer(serializers.ModelSerializer):
    product = ProductSerializer()

    class Meta:
        model = PoolProduct
        fields = ["pool", "product"]


# ---------------------------------------------------------------- metrics in bulk


def _metric_row_fields() -> dict:
    """The bulk row's fields, typed loosely on purpose: cells are read by the import's own rules
    (¥1,234.50, 1.2万, 12.5%…), so numbers and text are both accepted and judged there."""
    loose = {"oneOf": [{"type": "string"}, {"type": "number"}]}
    properties = {}
    for name in bulk_fields():
        if name in ("platform_id", "handle", "display_name", "main_category"):
            properties[name] = {"type": "string"}
        elif name == "date":
            properties[name] = {"type": "string", "example": "2026-11-24"}
        else:
            properties[name] = {**loose, "nullable": True}
    return properties


METRIC_ROW_SCHEMA = {"type": "object", "properties": _metric_row_fields(), "required": ["platform_id", "date"],
                     "additionalProperties": False}


@extend_schema_field(METRIC_ROW_SCHEMA)
class MetricRowField(serializers.DictField):
    """One daily row; documented field by field, read by the import's core."""


class MetricsBulkInputSerializer(serializers.Serializer):
    rows = serializers.ListField(child=MetricRowField(), min_length=1, max_length=BULK_MAX_ROWS,
                                 help_text=f"Up to {BULK_MAX_ROWS:,} daily metric rows, upserted on "
                                           "(platform_id, date), all or nothing.")
    unknown_creators = serializers.ChoiceField(choices=["create", "report"], default="create",
                                               help_text="create: make unknown creators from the row's id, handle "
                                                         "and category; report: refuse their rows.")


class MetricsBulkResultSerializer(serializers.Serializer):
    rows = serializers.IntegerField()
    new = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    creators_created = serializers.IntegerField()
    earliest_changed = serializers.DateField(allow_null=True)


class TrendDaySerializer(serializers.Serializer):
    """One day of the creator's trend: GMV by channel and followers, as on the plan page's chart."""

    date = serializers.DateField()
    live_gmv = serializers.DecimalField(max_digits=14, decimal_places=2)
    video_gmv = serializers.DecimalField(max_digits=14, decimal_places=2)
    storefront_gmv = serializers.DecimalField(max_digits=14, decimal_places=2)
    followers = serializers.IntegerField()


# ---------------------------------------------------------------- the creator's plan and actions


class TaskSerializer(serializers.ModelSerializer):
    title = serializers.CharField()
    done = serializers.BooleanField()

    class Meta:
        model = Task
        fields = ["id", "order", "kind", "title", "check_by", "required", "done"]


class StageSerializer(serializers.ModelSerializer):
    name = serializers.CharField()

    class Meta:
        model = Stage
        fields = ["id", "order", "name"]


class PlanProgrammeSerializer(serializers.Serializer):
    enrollment = serializers.IntegerField()
    program = ProgramSerializer()
    stage = StageSerializer(allow_null=True)
    stages = StageSerializer(many=True)
    tasks = TaskSerializer(many=True)
    done = serializers.IntegerField()
    total = serializers.IntegerField()
    percent = serializers.IntegerField()
    may_leave = serializers.BooleanField()


class GapSerializer(serializers.Serializer):
    metric = serializers.CharField()
    current = serializers.DecimalField(max_digits=20, decimal_places=4)
    target = serializers.DecimalField(max_digits=20, decimal_places=4)
    missing = serializers.DecimalField(max_digits=20, decimal_places=4)


class WarningSerializer(serializers.Serializer):
    tier = serializers.CharField()
    keep_gmv = serializers.DecimalField(max_digits=20, decimal_places=2)
    gmv = serializers.DecimalField(max_digits=20, decimal_places=2)
    missing = serializers.DecimalField(max_digits=20, decimal_places=2)
    demote_on = serializers.DateField()


class ActionSerializer(serializers.Serializer):
    code = serializers.CharField()
    priority = serializers.IntegerField()
    text = serializers.CharField()


class HistorySerializer(serializers.ModelSerializer):
    class Meta:
        model = TierDecision
        fields = ["id", "tier_before", "tier_after", "type_before", "type_after", "cause", "decided_on"]


class ReviewSerializer(serializers.ModelSerializer):
    class Meta:
        model = ReviewRequest
        fields = ["id", "subject", "message", "status", "staff_reply", "created_at"]


class PlanSerializer(serializers.Serializer):
    influencer = InfluencerSerializer()
    today = serializers.DateField()
    policy_version = serializers.IntegerField(allow_null=True)
    tier_reason = serializers.CharField()
    type_reason = serializers.CharField()
    features = serializers.JSONField(allow_null=True)
    next_tier = serializers.CharField(allow_null=True)
    gaps = GapSerializer(many=True)
    warning = WarningSerializer(allow_null=True)
    actions = ActionSerializer(many=True)
    programmes = PlanProgrammeSerializer(many=True)
    open_programmes = ProgramSerializer(many=True)
    history = HistorySerializer(many=True)
    traffic_reward_total = serializers.IntegerField()
    unread_notifications = serializers.IntegerField()
    review = ReviewSerializer(allow_null=True)
    trend = TrendDaySerializer(many=True)


class ReviewInputSerializer(serializers.Serializer):
    subject = serializers.ChoiceField(choices=ReviewSubject.choices)
    message = serializers.CharField(max_length=ReviewRequest.MESSAGE_MAX_LENGTH)


class DoneSerializer(serializers.Serializer):
    message = serializers.CharField()

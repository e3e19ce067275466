"""The API's operations: thin views that check who may call, read through selectors, write through services."""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, pagination, status
from rest_framework import serializers as drf_serializers
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from coaching import reviews
from coaching.choices import ProductStatus, ProgramKind
from coaching.models import Enrollment, PoolProduct, Program, Task
from coaching.selectors import plan_for
from coaching.services import (
    CoachingError,
    enrollment_leave,
    enrollment_sign_up,
    product_select,
    product_unselect,
    task_complete,
    task_undo,
)
from tiers.choices import RunStatus, RunTrigger
from tiers.ingest import MISSING_CREATE, MISSING_REPORT
from tiers.models import Influencer, RefreshRun, TierDecision, TierOverride, TierPolicy
from tiers.refresh import REFRESH_REQUEST_FAILED, RefreshError, refresh_queue, refresh_request_message
from tiers.selectors import explain_now

from . import serializers as s
from .auth import CanRead, CanWriteMetrics, IsCreator, ReadOrStartRuns, principal
from .errors import E400, E404, E409, E413, E415, error_response, responses
from .filters import DecisionFilter, EnrollmentFilter, InfluencerFilter, ProgramFilter, RefreshRunFilter
from .models import ApiToken
from .parsers import StrictJSONParser, large_json_body
from .services import BULK_MAX_ROWS, BulkRefused, IdempotencyConflict, idempotent, metrics_bulk_upsert

BULK_TOO_LARGE = _("The request body is over {limit} MB; at most {rows} rows are accepted in one request.")
NO_POLICY = _("No policy is published.")


@extend_schema(exclude=True)
@api_view(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
@authentication_classes([])
@permission_classes([AllowAny])
def not_found(request, *args, **kwargs):
    raise NotFound


class Cursor(pagination.CursorPagination):
    """Stable, cheap pages however deep: a cursor over the id (which never changes)."""

    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000
    ordering = "id"


class NewestFirst(Cursor):
    ordering = "-id"


class ReadList(generics.ListAPIView):
    permission_classes = [CanRead]
    filter_backends = [DjangoFilterBackend]
    pagination_class = Cursor


# ---------------------------------------------------------------- creators


@extend_schema(tags=["influencers"], responses=responses({200: s.InfluencerSerializer(many=True)}, E400, E404))
class InfluencerList(ReadList):
    """Creators with their current tier and type, oldest first; filter by tier, type, category, status,
    `updated_since`, or `search` (handle or platform id)."""

    serializer_class = s.InfluencerSerializer
    filterset_class = InfluencerFilter
    queryset = Influencer.objects.all()


@extend_schema(tags=["influencers"], responses=responses({200: s.InfluencerDetailSerializer}, E404))
class InfluencerDetail(generics.RetrieveAPIView):
    """One creator: current tier and type, the live explanation, and the overrides in force."""

    permission_classes = [CanRead]
    serializer_class = s.InfluencerDetailSerializer
    queryset = Influencer.objects.all()

    def get_serializer_context(self):
        context = super().get_serializer_context()
        influencer = getattr(self, "_influencer", None)
        if influencer is not None:
            context["explanation"] = explain_now(influencer=influencer)
            context["open_overrides"] = list(TierOverride.objects.active(timezone.now()).filter(influencer=influencer))
        return context

    def retrieve(self, request, *args, **kwargs):
        self._influencer = self.get_object()
        return Response(self.get_serializer(self._influencer).data)


# ---------------------------------------------------------------- the ledger, policies, runs


@extend_schema(tags=["decisions"], responses=responses({200: s.DecisionSerializer(many=True)}, E400, E404))
class DecisionList(ReadList):
    """The decision ledger (without the rows a replay recomputed), newest first; filter by creator,
    refresh run, cause and the day decided."""

    serializer_class = s.DecisionSerializer
    filterset_class = DecisionFilter
    pagination_class = NewestFirst
    queryset = TierDecision.objects.effective().select_related("influencer", "policy")


@extend_schema(tags=["policies"], responses=responses({200: s.PolicySerializer(many=True)}, E404))
class PolicyList(ReadList):
    """Every policy version, newest first."""

    serializer_class = s.PolicySerializer
    pagination_class = NewestFirst
    queryset = TierPolicy.objects.all()


@extend_schema(tags=["policies"], responses=responses({200: s.PolicySerializer}, E404))
class PolicyCurrent(APIView):
    """The published policy (404 while none is)."""

    permission_classes = [CanRead]

    def get(self, request):
        policy = TierPolicy.objects.published().first()
        if policy is None:
            return error_response(NO_POLICY, "not_found", status.HTTP_404_NOT_FOUND)
        return Response(s.PolicySerializer(policy).data)


@extend_schema(tags=["policies"], responses=responses({200: s.PolicyRulesSerializer}, E404))
class PolicyRules(generics.RetrieveAPIView):
    """A policy version's rules: window, thresholds, anti-flap and type rules."""

    permission_classes = [CanRead]
    serializer_class = s.PolicyRulesSerializer
    queryset = TierPolicy.objects.all()


class RefreshRuns(generics.ListAPIView):
    permission_classes = [ReadOrStartRuns]
    filter_backends = [DjangoFilterBackend]
    filterset_class = RefreshRunFilter
    pagination_class = NewestFirst
    serializer_class = s.RefreshRunSerializer
    queryset = RefreshRun.objects.select_related("policy")

    @extend_schema(tags=["refresh-runs"], responses=responses({200: s.RefreshRunSerializer(many=True)}, E400, E404))
    def get(self, request, *args, **kwargs):
        """Refresh runs, newest first, with their progress."""
        return super().get(request, *args, **kwargs)

    @extend_schema(tags=["refresh-runs"], request=None,
                   responses=responses({202: s.RefreshStartedSerializer}, E409))
    def post(self, request):
        """Start a refresh of every creator on the workers, or queue it after the one running. Needs `write-runs`."""
        token = isinstance(request.auth, ApiToken)
        try:
            run = refresh_queue(trigger=RunTrigger.API if token else RunTrigger.STAFF, by=None if token else request.user)
        except RefreshError as error:
            return error_response(REFRESH_REQUEST_FAILED.format(error=error), "conflict", status.HTTP_409_CONFLICT)
        message = refresh_request_message(run)
        run = RefreshRun.objects.select_related("policy").get(pk=run.pk)
        if run.status == RunStatus.FAILED:
            return error_response(message, "conflict", status.HTTP_409_CONFLICT)
        return Response({"message": message, "run": s.RefreshRunSerializer(run).data}, status=status.HTTP_202_ACCEPTED)


@extend_schema(tags=["refresh-runs"], responses=responses({200: s.RefreshRunSerializer}, E404))
class RefreshRunDetail(generics.RetrieveAPIView):
    """One run: status and progress (creators done of total, chunks done)."""

    permission_classes = [CanRead]
    serializer_class = s.RefreshRunSerializer
    queryset = RefreshRun.objects.select_related("policy")


# ---------------------------------------------------------------- coaching, for staff and services


@extend_schema(tags=["programmes"], responses=responses({200: s.ProgramSerializer(many=True)}, E400, E404))
class ProgramList(ReadList):
    """Programmes of every kind: the newcomer village, product pools, campaigns, traffic rewards."""

    serializer_class = s.ProgramSerializer
    filterset_class = ProgramFilter
    queryset = Program.objects.all()


@extend_schema(tags=["enrolments"], responses=responses({200: s.EnrollmentSerializer(many=True)}, E400, E404))
class EnrollmentList(ReadList):
    """Enrolments, newest first; filter by creator, programme and status."""

    serializer_class = s.EnrollmentSerializer
    filterset_class = EnrollmentFilter
    pagination_class = NewestFirst
    queryset = Enrollment.objects.select_related("influencer", "program")


@extend_schema(tags=["product-pools"], responses=responses({200: s.ProgramSerializer(many=True)}, E404))
class ProductPoolList(ReadList):
    """The distribution product pools."""

    serializer_class = s.ProgramSerializer
    queryset = Program.objects.filter(kind=ProgramKind.PRODUCT_POOL)


@extend_schema(tags=["product-pools"], responses=responses({200: s.PoolProductSerializer(many=True)}, E404))
class ProductPoolProducts(ReadList):
    """The products of one pool, by id."""

    serializer_class = s.PoolProductSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no pool
            return PoolProduct.objects.none()
        pool = get_object_or_404(Program, pk=self.kwargs["pool_id"], kind=ProgramKind.PRODUCT_POOL)
        return PoolProduct.objects.filter(pool=pool).select_related("product")


# ---------------------------------------------------------------- metrics in bulk


class MetricsBulk(APIView):
    permission_classes = [CanWriteMetrics]
    parser_classes = [StrictJSONParser]

    @extend_schema(
        tags=["metrics"],
        request=s.MetricsBulkInputSerializer,
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False,
                                     description="A retry with the same key and body returns the first answer "
                                                 "without applying the rows twice.")],
        responses=responses({200: s.MetricsBulkResultSerializer}, E400, E409, E413, E415),
    )
    def post(self, request):
        """Upsert daily metrics, up to 10,000 rows a request, on (platform_id, date), all or nothing, checked by
        the same rules (and with the same messages) as the metric-file import."""
        too_big = settings.LADDER_API_BULK_MAX_BYTES
        if int(request.META.get("CONTENT_LENGTH") or 0) > too_big:
            return error_response(BULK_TOO_LARGE.format(limit=too_big // (1024 * 1024), rows=f"{BULK_MAX_ROWS:,}"),
                                  "too_large", status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        # Up to 16 MB by our own limit above, not Django's 2.5 MB one for forms.
        data = large_json_body(request)
        if not isinstance(data, dict):
            raise drf_serializers.ValidationError({"rows": [_("Send a JSON object with a rows list.")]})
        missing = data.get("unknown_creators", MISSING_CREATE)
        if missing not in (MISSING_CREATE, MISSING_REPORT):
            raise drf_serializers.ValidationError({"unknown_creators": [_("Choose create or report.")]})
        key = request.headers.get("Idempotency-Key", "")[:255] or None
        rows = data.get("rows")

        def apply():
            return status.HTTP_200_OK, metrics_bulk_upsert(rows=rows, missing=missing).to_json()

        try:
            code, body, replayed = idempotent(principal=principal(request), key=key,
                                              payload={"rows": rows, "unknown_creators": missing}, apply=apply)
        except BulkRefused as refused:
            http = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE if refused.too_large else status.HTTP_400_BAD_REQUEST
            return error_response(str(refused), "too_large" if refused.too_large else "invalid", http,
                                  [problem.to_json() for problem in refused.problems])
        except IdempotencyConflict as conflict:
            return error_response(str(conflict), "conflict", status.HTTP_409_CONFLICT)
        response = Response(body, status=code)
        if replayed:
            response["Idempotent-Replayed"] = "true"
        return response


# ---------------------------------------------------------------- the logged-in creator



@extend_schema(tags=["me"], responses=responses({200: s.PlanSerializer}))
class MyPlan(APIView):
    """The logged-in creator's growth plan: what /plan/ shows, as data."""

    permission_classes = [IsCreator]

    def get(self, request):
        influencer = request.influencer
        page = plan_for(influencer)
        plan = page.plan
        data = {
            "influencer": influencer,
            "today": plan.today,
            "policy_version": plan.policy.version if plan.policy else None,
            "tier_reason": page.tier_reason,
            "type_reason": page.type_reason,
            "features": plan.features.to_json() if plan.features else None,
            "next_tier": plan.next_tier,
            "gaps": [gap.to_json() for gap in plan.gaps],
            "warning": plan.warning,
            "actions": plan.actions,
            "programmes": [
                {"enrollment": view.enrollment.pk, "program": view.program, "stage": view.stage, "stages": view.stages,
                 "tasks": [{"id": t.task.pk, "order": t.task.order, "kind": t.task.kind, "title": t.task.title,
                            "check_by": t.task.check_by, "required": t.task.required, "done": t.done}
                           for t in view.tasks],
                 "done": view.done, "total": view.total, "percent": view.percent,
                 "may_leave": view.program.creators_may_leave}
                for view in plan.programmes
            ],
            "open_programmes": plan.open_programmes,
            "history": plan.history,
            "traffic_reward_total": plan.traffic_reward_total,
            "unread_notifications": page.unread,
            "review": page.review,
            "trend": [day._asdict() for day in page.trend_rows],
        }
        return Response(s.PlanSerializer(data).data)


def _done(message) -> Response:
    return Response({"message": str(message)})


def _refused(error: CoachingError) -> Response:
    return error_response(str(error), "conflict", status.HTTP_409_CONFLICT)


CREATOR_ACTION = responses({200: s.DoneSerializer}, E404, E409)


def _creator_task(request, task_id: int) -> tuple[Enrollment, Task]:
    """A task of a programme the creator is in; any other task is 404, as another creator's would be."""
    task = get_object_or_404(Task.objects.select_related("stage"), pk=task_id)
    enrollment = get_object_or_404(Enrollment.objects.active(), influencer=request.influencer,
                                   program_id=task.stage.program_id)
    return enrollment, task


class CreatorAction(APIView):
    permission_classes = [IsCreator]


@extend_schema(tags=["me"], request=None, responses=CREATOR_ACTION)
class TaskComplete(CreatorAction):
    """Mark one of the creator's self-reported tasks done (again: no change)."""

    def post(self, request, task_id: int):
        enrollment, task = _creator_task(request, task_id)
        try:
            task_complete(enrollment=enrollment, task=task, by=request.user)
        except CoachingError as error:
            return _refused(error)
        return _done(_("Task marked done."))


@extend_schema(tags=["me"], request=None, responses=CREATOR_ACTION)
class TaskUndo(CreatorAction):
    """Un-tick a self-reported task."""

    def post(self, request, task_id: int):
        enrollment, task = _creator_task(request, task_id)
        try:
            task_undo(enrollment=enrollment, task=task, by=request.user)
        except CoachingError as error:
            return _refused(error)
        return _done(_("Task marked not done."))


def _my_pool(request, pool_id: int) -> Program:
    return get_object_or_404(Program.objects.filter(
        kind=ProgramKind.PRODUCT_POOL, enrollments__influencer=request.influencer, enrollments__status="active",
    ).distinct(), pk=pool_id)


@extend_schema(tags=["me"], responses=responses({200: s.PoolProductSerializer(many=True)}, E404))
class MyPoolProducts(generics.ListAPIView):
    """The products on sale in a pool the creator is in."""

    permission_classes = [IsCreator]
    serializer_class = s.PoolProductSerializer
    pagination_class = Cursor

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return PoolProduct.objects.none()
        pool = _my_pool(self.request, self.kwargs["pool_id"])
        return PoolProduct.objects.filter(pool=pool, product__status=ProductStatus.ON_SALE).select_related("product")


@extend_schema(tags=["me"], request=None, responses=CREATOR_ACTION)
class ProductPick(CreatorAction):
    """Pick a product of one of the creator's pools (again: no change)."""

    def post(self, request, pool_id: int, product_id: int):
        pool = _my_pool(request, pool_id)
        get_object_or_404(PoolProduct, pool=pool, product_id=product_id)
        try:
            product_select(influencer=request.influencer, pool=pool, product_id=product_id)
        except CoachingError as error:
            return _refused(error)
        return _done(_("Added to your selection."))


@extend_schema(tags=["me"], request=None, responses=CREATOR_ACTION)
class ProductUnpick(CreatorAction):
    """Remove a product from the creator's selection."""

    def post(self, request, pool_id: int, product_id: int):
        pool = _my_pool(request, pool_id)
        get_object_or_404(PoolProduct, pool=pool, product_id=product_id)
        product_unselect(influencer=request.influencer, product_id=product_id)
        return _done(_("Removed from your selection."))


@extend_schema(tags=["me"], request=None, responses=CREATOR_ACTION)
class ProgrammeJoin(CreatorAction):
    """Join an opt-in programme or a campaign the creator left; the service says which may be joined."""

    def post(self, request, program_id: int):
        program = get_object_or_404(Program, pk=program_id)
        try:
            enrollment_sign_up(influencer=request.influencer, program=program, by=request.user)
        except CoachingError as error:
            return _refused(error)
        return _done(_("You have joined %(name)s.") % {"name": program.name})


@extend_schema(tags=["me"], request=None, responses=CREATOR_ACTION)
class ProgrammeLeave(CreatorAction):
    """Leave a campaign or an opt-in programme the creator is in."""

    def post(self, request, program_id: int):
        enrollment = get_object_or_404(Enrollment.objects.active().select_related("program"),
                                       influencer=request.influencer, program_id=program_id)
        try:
            enrollment_leave(enrollment=enrollment, by=request.user)
        except CoachingError as error:
            return _refused(error)
        return _done(_("You have left %(name)s.") % {"name": enrollment.program.name})


@extend_schema(tags=["me"], request=s.ReviewInputSerializer,
               responses=responses({201: s.ReviewSerializer}, E400, E409))
class ReviewCreate(CreatorAction):
    """Ask staff to review the creator's tier or type (one open request at a time)."""

    def post(self, request):
        form = s.ReviewInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            review = reviews.review_request_create(
                influencer=request.influencer, subject=form.validated_data["subject"],
                message=form.validated_data["message"],
                decision=request.influencer.decisions.effective().first())
        except CoachingError as error:
            return _refused(error)
        return Response(s.ReviewSerializer(review).data, status=status.HTTP_201_CREATED)


"""URLs of the API v1 and of its OpenAPI schema pages."""

from csp.decorators import csp_update
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import views

app_name = "api"

v1 = [
    path("influencers/", views.InfluencerList.as_view(), name="influencers"),
    path("influencers/<id:pk>/", views.InfluencerDetail.as_view(), name="influencer"),
    path("metrics/bulk/", views.MetricsBulk.as_view(), name="metrics_bulk"),
    path("decisions/", views.DecisionList.as_view(), name="decisions"),
    path("refresh-runs/", views.RefreshRuns.as_view(), name="refresh_runs"),
    path("refresh-runs/<id:pk>/", views.RefreshRunDetail.as_view(), name="refresh_run"),
    path("policies/", views.PolicyList.as_view(), name="policies"),
    path("policies/current/", views.PolicyCurrent.as_view(), name="policy_current"),
    path("policies/<id:pk>/rules/", views.PolicyRules.as_view(), name="policy_rules"),
    path("programmes/", views.ProgramList.as_view(), name="programmes"),
    path("enrolments/", views.EnrollmentList.as_view(), name="enrolments"),
    path("product-pools/", views.ProductPoolList.as_view(), name="product_pools"),
    path("product-pools/<id:pool_id>/products/", views.ProductPoolProducts.as_view(), name="product_pool_products"),
    path("me/plan/", views.MyPlan.as_view(), name="my_plan"),
    path("me/tasks/<id:task_id>/complete/", views.TaskComplete.as_view(), name="task_complete"),
    path("me/tasks/<id:task_id>/undo/", views.TaskUndo.as_view(), name="task_undo"),
    path("me/pools/<id:pool_id>/products/", views.MyPoolProducts.as_view(), name="my_pool_products"),
    path("me/pools/<id:pool_id>/products/<id:product_id>/pick/", views.ProductPick.as_view(), name="pick"),
    path("me/pools/<id:pool_id>/products/<id:product_id>/unpick/", views.ProductUnpick.as_view(), name="unpick"),
    path("me/programmes/<id:program_id>/join/", views.ProgrammeJoin.as_view(), name="join"),
    path("me/programmes/<id:program_id>/leave/", views.ProgrammeLeave.as_view(), name="leave"),
    path("me/review-requests/", views.ReviewCreate.as_view(), name="review_create"),
]

urlpatterns = [
    path("v1/", include(v1)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view loads its script from a URL, not an inline <script>: fit for a strict CSP. Swagger UI's icons are
    # data: images, allowed on this page only.
    path("schema/swagger-ui/", csp_update({"img-src": ["data:"]})(
        SpectacularSwaggerSplitView.as_view(url_name="api:schema")), name="swagger_ui"),
    # No ReDoc: its bundle writes styles before any CSP nonce can reach it and loads its logo from a CDN, so under this
    # site's CSP it showed "Something went wrong". Its old address opens Swagger UI, which reads the same schema.
    path("schema/redoc/", RedirectView.as_view(pattern_name="api:swagger_ui"), name="redoc"),
    # Any other address under /api/ (an id that is not a number, a path that does not exist) is a JSON 404
    # like the API's own, not the site's HTML page.
    re_path(r"^[\s\S]*$", views.not_found, name="not_found"),
]

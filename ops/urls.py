"""URLs of the ops desk."""

from django.urls import path

from . import views

app_name = "ops"

urlpatterns = [
    path("ops/", views.dashboard, name="dashboard"),
    path("ops/policies/<id:policy_id>/whatif/", views.policy_whatif, name="policy_whatif"),
    path("ops/policies/<id:policy_id>/whatif/start", views.whatif_begin, name="whatif_start"),
    path("ops/policies/<id:policy_id>/publish", views.policy_publish_view, name="policy_publish"),
    path("ops/whatifs/<id:whatif_id>/", views.whatif_detail, name="whatif_detail"),
    path("ops/whatifs/<id:whatif_id>/changes.<str:file_format>", views.whatif_export, name="whatif_export"),
    path("ops/refresh/", views.refresh_page, name="refresh"),
    path("ops/refresh/start", views.refresh_begin, name="refresh_start"),
    path("ops/runs/<id:run_id>/", views.run_detail, name="run_detail"),
    path("ops/exports/creators.<str:file_format>", views.creators_export, name="creators_export"),
    path("ops/exports/ledger.<str:file_format>", views.ledger_export, name="ledger_export"),
]

"""URLs of the tier engine's staff pages."""

from django.urls import path

from . import views

app_name = "tiers"

urlpatterns = [
    path("staff/imports/", views.import_list, name="imports"),
    path("staff/imports/<id:batch_id>/", views.import_detail, name="import_detail"),
    path("staff/imports/<id:batch_id>/apply", views.import_apply, name="import_apply"),
    path("staff/imports/<id:batch_id>/refresh", views.import_refresh, name="import_refresh"),
    path("staff/imports/<id:batch_id>/rejected.csv", views.import_rejected, name="import_rejected"),
]

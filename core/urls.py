"""URLs of the ground floor: the front door and the health check (not namespaced: `home`, `healthz`)."""

from django.urls import path

from .health import healthz
from .views import home

urlpatterns = [
    path("", home, name="home"),
    path("healthz", healthz, name="healthz"),
]

"""Top-level URLs."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, register_converter
from django.utils.translation import gettext_lazy as _

from config.converters import RowIdConverter

register_converter(RowIdConverter, "id")  # before the apps' URL confs, which use it

# The admin's header and page titles name the site, not Django.
admin.site.site_header = admin.site.site_title = _("Ladder staff admin")

urlpatterns = [
    path("", include("core.urls")),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
    path("", include("tiers.urls")),
    path("", include("coaching.urls")),
    path("", include("ops.urls")),
]

"""Site-wide protections: security headers, staff idle expiry, the demo password's refusal and the login-lockout hooks."""

import time

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_client_ip_address
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.exceptions import ValidationError
from django.dispatch import receiver
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

LOCKED_OUT = ("Too many wrong passwords for this account: it is locked for %(minutes)d minute. Try again later, "
              "or ask creator-ops staff to unlock it now.",
              "Too many wrong passwords for this account: it is locked for %(minutes)d minutes. Try again later, "
              "or ask creator-ops staff to unlock it now.")
DEMO_PASSWORD_REFUSED = "This is the demo password, published in the README: choose another."
# A staff session's idle clock is pushed forward at most this often, so a page view rarely writes the session.
STAFF_SEEN_RESOLUTION_SECONDS = 60
STAFF_SEEN_KEY = "ladder_staff_seen"


def permissions_policy_header(policy: dict[str, list[str]]) -> str:
    return ", ".join(f"{feature}=({' '.join(origins)})" for feature, origins in policy.items())


class SecurityHeadersMiddleware:
    """Permissions-Policy on every answer; `Cache-Control: private, no-store` on every answer to a
    logged-in user (a creator's plan, staff pages), so no shared cache or back button keeps them."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.permissions_policy = permissions_policy_header(settings.PERMISSIONS_POLICY)

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", self.permissions_policy)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            patch_cache_control(response, private=True, no_store=True)
        return response


def _staff_idle_expiry(request) -> None:
    request.session.set_expiry(settings.LADDER_STAFF_SESSION_IDLE_SECONDS)
    request.session[STAFF_SEEN_KEY] = int(time.time())


@receiver(user_logged_in, dispatch_uid="ladder_staff_idle_expiry")
def staff_session_on_login(sender, request, user, **kwargs):
    """A staff login starts with the short idle expiry (creators keep Django's two weeks)."""
    if request is not None and user.is_staff and hasattr(request, "session"):
        _staff_idle_expiry(request)


class StaffIdleExpiryMiddleware:
    """A staff session ends LADDER_STAFF_SESSION_IDLE_SECONDS after its last request: each request
    pushes the expiry forward (at most once a minute, so most requests write nothing)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_staff:
            seen = request.session.get(STAFF_SEEN_KEY, 0)
            if time.time() - seen >= STAFF_SEEN_RESOLUTION_SECONDS:
                _staff_idle_expiry(request)
        return self.get_response(request)


class DemoPasswordValidator:
    """The demo logins' password is published: outside DEBUG no account may be given it."""

    def validate(self, password, user=None):
        if not settings.DEBUG and password == settings.DEMO_PASSWORD:
            raise ValidationError(_(DEMO_PASSWORD_REFUSED), code="demo_password")

    def get_help_text(self):
        return _("Your password can't be the demo password.")


def locked_out_response(request, original_response=None, credentials=None):
    """What django-axes answers a locked-out login with (AXES_LOCKOUT_CALLABLE), on the site and the admin: 429."""
    minutes = max(1, round(settings.AXES_COOLOFF_TIME.total_seconds() / 60))
    message = ngettext(*LOCKED_OUT, minutes) % {"minutes": minutes}
    if request.path.startswith("/api/"):  # an API caller reads JSON, as from every other API answer
        retry_after = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
        return JsonResponse({"detail": message, "code": "locked_out"}, status=429, headers={"Retry-After": retry_after})
    return render(request, "registration/locked_out.html", {"message": message}, status=429)


# ---------------------------------------------------------------- lockout hooks for other ways in
# The login forms (the site's, the admin's) are covered by AUTHENTICATION_BACKENDS. Any other way in
# that checks a secret (an API token, a signed link) asks first and reports each failure, so that it
# is locked out by the same counts, limit, cool-off and staff unlock:
#
#     credentials = token_credentials(request)
#     if not login_attempt_allowed(request, credentials=credentials):
#         raise AuthenticationFailed(...)          # DRF: 401/403; a page: the lockout page
#     ... check the token ...
#     login_attempt_failed(request, credentials=credentials)   # on a wrong token


def token_credentials(request) -> dict:
    """A wrong token is counted against the address it came from (a token names no user until it matches)."""
    address = get_client_ip_address(request) or "unknown"
    return {settings.AXES_USERNAME_FORM_FIELD: f"token@{address}"}


def login_attempt_allowed(request, *, credentials: dict) -> bool:
    return AxesProxyHandler.is_allowed(request, credentials)


def login_attempt_failed(request, *, credentials: dict) -> None:
    # django-axes counts failures from this signal, as it does for a wrong password.
    user_login_failed.send(sender=__name__, credentials=credentials, request=request)

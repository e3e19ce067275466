"""Who is calling the API: service tokens (Bearer) or a site session; what they may do; how often."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions, permissions, throttling

from config.security import (
    login_attempt_allowed,
    login_attempt_failed,
    token_credentials,
)
from tiers.models import Influencer

from .models import ApiToken, Scope
from .services import token_for_secret

TOKEN_INVALID = _("Invalid or revoked API token.")
TOKEN_MALFORMED = _("Send the token as 'Authorization: Bearer <token>'.")
TOKEN_LOCKED = _("Too many wrong API tokens from this address: locked for a while. Ops can unlock it in the admin.")
NEEDS_SCOPE = _("This needs a token with the {scope} scope, or a staff login with the permission for it.")
NEEDS_CREATOR = _("Only a creator's own login reaches their plan.")


class ServiceUser(AnonymousUser):
    """The caller of a token request: no site user, but authenticated (the token says who)."""

    def __init__(self, token: ApiToken):
        self.token = token

    @property
    def is_authenticated(self):
        return True

    def __str__(self) -> str:
        return f"token:{self.token.pk}"


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <token>`, looked up by its hash on every request, so revocation is immediate."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(TOKEN_MALFORMED)
        try:
            secret = header[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed(TOKEN_MALFORMED) from None
        # Wrong tokens count like wrong passwords (django-axes): the same limit, cool-off and staff unlock.
        credentials = token_credentials(request._request)
        if not login_attempt_allowed(request._request, credentials=credentials):
            raise exceptions.Throttled(wait=settings.AXES_COOLOFF_TIME.total_seconds(), detail=str(TOKEN_LOCKED))
        token = token_for_secret(secret)
        if token is None:
            login_attempt_failed(request._request, credentials=credentials)
            raise exceptions.AuthenticationFailed(TOKEN_INVALID)
        return ServiceUser(token), token

    def authenticate_header(self, request):
        return f'{self.keyword} realm="api"'


def principal(request) -> str:
    """Who sent the request, for idempotency keys and throttling: the token, else the user."""
    if isinstance(request.auth, ApiToken):
        return f"token:{request.auth.pk}"
    return f"user:{request.user.pk}"


class StaffOrScope(permissions.BasePermission):
    """A token with `scope`, or a staff login holding `perm` (any staff login when `perm` is empty)."""

    scope = Scope.READ
    perm = ""

    def has_permission(self, request, view):
        if isinstance(request.auth, ApiToken):
            allowed = request.auth.has_scope(self.scope)
        else:
            user = request.user
            allowed = bool(user and user.is_authenticated and user.is_staff
                           and (not self.perm or user.has_perm(self.perm)))
        if not allowed:
            self.message = str(NEEDS_SCOPE).format(scope=self.scope)
        return allowed


class CanRead(StaffOrScope):
    scope = Scope.READ
    perm = "tiers.view_influencer"  # staff who may see creators in the admin; any staff login is not enough


class CanWriteMetrics(StaffOrScope):
    scope = Scope.WRITE_METRICS
    perm = "tiers.import_metrics"


class CanStartRuns(StaffOrScope):
    scope = Scope.WRITE_RUNS
    perm = "tiers.start_refreshrun"


class ReadOrStartRuns(permissions.BasePermission):
    """Refresh runs: reading needs `read`, starting one needs `write-runs`."""

    def has_permission(self, request, view):
        check = CanRead() if request.method in permissions.SAFE_METHODS else CanStartRuns()
        allowed = check.has_permission(request, view)
        self.message = getattr(check, "message", None)
        return allowed


class IsCreator(permissions.BasePermission):
    """A logged-in creator (session); the view then works only on `request.influencer`'s objects."""

    message = NEEDS_CREATOR

    def has_permission(self, request, view):
        user = request.user
        if isinstance(request.auth, ApiToken) or not (user and user.is_authenticated):
            return False
        influencer = Influencer.objects.filter(user=user).first()
        if influencer is None:
            return False
        request.influencer = influencer
        return True


class LadderThrottle(throttling.SimpleRateThrottle):
    """Per token, per logged-in user, or per address for anonymous calls; rates read from
    settings.LADDER_API_THROTTLE_RATES at each request (so they can be tuned without a restart of tests)."""

    def get_rate(self):
        return None  # read in allow_request, once the caller is known

    def allow_request(self, request, view):
        rates = settings.LADDER_API_THROTTLE_RATES
        if isinstance(request.auth, ApiToken):
            self.scope, ident = "token", f"token:{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            self.scope, ident = "user", f"user:{request.user.pk}"
        else:
            self.scope, ident = "anon", self.get_ident(request)
        self.rate = rates.get(self.scope)
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        self.key = self.cache_format % {"scope": self.scope, "ident": ident}
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()
        if len(self.history) >= self.num_requests:
            return self.throttle_failure()
        return self.throttle_success()

    def get_cache_key(self, request, view):  # pragma: no cover - allow_request builds the key itself
        return None

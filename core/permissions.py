"""The one gate of every staff page: logged in, and holding the permission, checked on the server at every request."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

NEEDS_PERMISSION = _("This page needs a permission your account does not have; ask an administrator for it.")


def staff_may(*permissions: str, message=None):
    """A view for whoever holds every one of `permissions`: anonymous callers are sent to the login page, a login
    without them gets 403 with `message` (or a general one), which the error page shows."""

    def decorate(view):
        @login_required
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.has_perms(permissions):
                raise PermissionDenied(message or NEEDS_PERMISSION)
            return view(request, *args, **kwargs)

        return wrapper

    return decorate

"""The site's front door: where a login lands."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.views.decorators.http import require_GET


@require_GET
@login_required
def home(request):
    """After login: staff to the admin, creators to their plan."""
    return redirect("admin:index" if request.user.is_staff else "coaching:plan")

"""The one way a staff page's live progress is answered: the page, or while a job runs its polled fragment."""

from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django_htmx.http import HttpResponseStopPolling


def progress_response(request, template: str, fragment: str, context: dict, *, running: bool):
    """The whole page, or for htmx the `fragment` partial of `template`; once the job is over the fragment
    comes with htmx's stop-polling status (286), so the bar stops asking. The URL serves both: Vary."""
    if not request.htmx:
        response = render(request, template, context)
    else:
        response = render(request, f"{template}#{fragment}", context)
        if not running:
            response = HttpResponseStopPolling(response.content)
    patch_vary_headers(response, ["HX-Request"])
    return response

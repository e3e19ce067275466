"""schemathesis against the live schema and the running API: no 500, every answer as documented."""

import pytest
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client, override_settings
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode, openapi
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.services import token_create

from .conftest import EVERY_SCOPE, build_world

# What the contract promises: no server error, and status codes, content types, headers and bodies
# as documented. (Not "valid data is always accepted": a row the schema allows can still hold a
# figure the import's rules refuse, which is a documented 400.)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
# Bounded so the whole contract runs in a minute or two on a loaded two-core machine.
EXAMPLES = {GenerationMode.POSITIVE: 8, GenerationMode.NEGATIVE: 4}
RATES = {"token": "100000/min", "user": "100000/min", "anon": "100000/min"}


def _exercise(schema, base_url: str, *, headers: dict, cookies: dict | None = None,
              only=None) -> tuple[dict[str, str], int]:
    """Run every operation (or those `only` accepts) with both kinds of data: the failures by operation,
    and how many operations ran."""
    failures, ran = {}, 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if only is not None and not only(operation.path):
            continue
        ran += 1
        for mode, count in EXAMPLES.items():
            @settings(max_examples=count, deadline=None, database=None, derandomize=True,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode))
            def check(case):
                case.call_and_validate(base_url=base_url, headers=headers, cookies=cookies, checks=CHECKS,
                                       timeout=60)

            try:
                check()
            except Exception as failure:  # noqa: BLE001 - collected, every operation reported at the end
                failures[f"{operation.method.upper()} {operation.path} ({mode})"] = str(failure)[:2000]
    return failures, ran


@pytest.fixture
def live_world(shipped_defaults, live_server):
    return build_world()


@override_settings(LADDER_API_THROTTLE_RATES=RATES)
def test_the_api_keeps_its_contract_for_a_service_token_with_every_scope(live_world, live_server):
    schema = openapi.from_url(f"{live_server.url}/api/schema/?format=json")
    _, secret = token_create(name="contract", scopes=EVERY_SCOPE)

    failures, ran = _exercise(schema, live_server.url, headers={"Authorization": f"Bearer {secret}"})

    assert ran == len(list(schema.get_all_operations())) >= 23
    assert not failures, "\n\n".join(f"{name}:\n{text}" for name, text in failures.items())


@override_settings(LADDER_API_THROTTLE_RATES=RATES)
def test_the_api_keeps_its_contract_for_a_creator(live_world, live_server):
    schema = openapi.from_url(f"{live_server.url}/api/schema/?format=json")
    browser = Client()
    browser.force_login(live_world["mid"].user)
    csrf = _get_new_csrf_string()
    cookies = {"sessionid": browser.cookies["sessionid"].value, "csrftoken": csrf}

    # The creator's own endpoints in depth; the others once each way, where they answer 403.
    failures, ran = _exercise(schema, live_server.url, headers={"X-CSRFToken": csrf}, cookies=cookies,
                              only=lambda path: path.startswith("/api/v1/me/") or path == "/api/v1/influencers/")

    assert ran == 10
    assert not failures, "\n\n".join(f"{name}:\n{text}" for name, text in failures.items())

"""me/: a creator reads their own plan and acts on their own objects only; others' ids are 404."""

import pytest
from rest_framework.test import APIClient

from coaching.choices import EnrollmentStatus
from coaching.models import Enrollment, ProductSelection, ReviewRequest, TaskCompletion

pytestmark = pytest.mark.django_db


def as_creator(influencer) -> APIClient:
    api = APIClient()
    api.force_login(influencer.user)
    return api


def test_the_plan_is_the_creator_s_own(world):
    response = as_creator(world["tail"]).get("/api/v1/me/plan/")

    assert response.status_code == 200
    plan = response.json()
    assert plan["influencer"]["id"] == world["tail"].pk and plan["influencer"]["tier"] == world["tail"].tier
    assert plan["tier_reason"] and plan["programmes"]
    assert {p["program"]["code"] for p in plan["programmes"]} >= {"newcomer-village"}
    assert len(plan["trend"]) == 30


def test_a_creator_acts_on_their_own_task_pool_and_programmes(world):
    tail, mid = as_creator(world["tail"]), as_creator(world["mid"])
    task, pool, product = world["village_task"], world["pool"], world["products"][0]

    assert tail.post(f"/api/v1/me/tasks/{task.pk}/complete/").status_code == 200
    assert TaskCompletion.objects.filter(task=task, enrollment__influencer=world["tail"]).exists()
    assert tail.post(f"/api/v1/me/tasks/{task.pk}/undo/").status_code == 200
    assert not TaskCompletion.objects.filter(task=task, enrollment__influencer=world["tail"]).exists()

    assert mid.get(f"/api/v1/me/pools/{pool.pk}/products/").status_code == 200
    assert mid.post(f"/api/v1/me/pools/{pool.pk}/products/{product.pk}/pick/").status_code == 200
    assert ProductSelection.objects.filter(influencer=world["mid"], product=product).exists()
    assert mid.post(f"/api/v1/me/pools/{pool.pk}/products/{product.pk}/unpick/").status_code == 200
    assert not ProductSelection.objects.filter(influencer=world["mid"]).exists()

    campaign = world["campaign"]
    assert tail.post(f"/api/v1/me/programmes/{campaign.pk}/join/").status_code == 200
    assert Enrollment.objects.active().filter(influencer=world["tail"], program=campaign).exists()
    assert tail.post(f"/api/v1/me/programmes/{campaign.pk}/leave/").status_code == 200
    assert not Enrollment.objects.active().filter(influencer=world["tail"], program=campaign).exists()

    review = tail.post("/api/v1/me/review-requests/", {"subject": "tier", "message": "Please look again."},
                       format="json")
    assert review.status_code == 201 and ReviewRequest.objects.get().influencer_id == world["tail"].pk


def test_another_creator_s_ids_are_404_on_every_endpoint(world):
    """The tail creator is not in the mid pool nor in any stage of another programme: every id of the
    mid creator's world is as if it did not exist, and nothing changes."""
    tail = as_creator(world["tail"])
    pool, product = world["pool"], world["products"][0]
    mid_enrolment = Enrollment.objects.active().get(influencer=world["mid"], program=pool)
    mid_task = world["village_task"].stage.program.stages.first().tasks.first()
    Enrollment.objects.filter(influencer=world["mid"], program=world["village_task"].stage.program).delete()
    mid = as_creator(world["mid"])

    for url in (
        f"/api/v1/me/tasks/{mid_task.pk}/complete/",   # a task of a programme the mid creator is not in
        f"/api/v1/me/tasks/{mid_task.pk}/undo/",
        f"/api/v1/me/pools/{pool.pk}/products/{product.pk}/pick/",
        f"/api/v1/me/pools/{pool.pk}/products/{product.pk}/unpick/",
        f"/api/v1/me/programmes/{mid_enrolment.program_id}/leave/",
    ):
        who = mid if "/tasks/" in url else tail
        response = who.post(url)
        assert response.status_code == 404, (url, response.status_code)
        assert set(response.json()) == {"detail", "code"}
    assert tail.get(f"/api/v1/me/pools/{pool.pk}/products/").status_code == 404
    assert not ProductSelection.objects.exists()
    assert Enrollment.objects.get(pk=mid_enrolment.pk).status == EnrollmentStatus.ACTIVE


def test_a_creator_reaches_no_staff_endpoint_and_a_token_no_plan(world, make_token):
    tail = as_creator(world["tail"])
    for url in ("/api/v1/influencers/", f"/api/v1/influencers/{world['mid'].pk}/", "/api/v1/decisions/",
                "/api/v1/enrolments/", "/api/v1/refresh-runs/", "/api/v1/policies/", "/api/v1/programmes/",
                "/api/v1/product-pools/"):
        assert tail.get(url).status_code == 403, url
    token = APIClient()
    token.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token()}")
    assert token.get("/api/v1/me/plan/").status_code == 403


def test_a_refused_action_says_why_with_409(world):
    # The mid creator may not join the newcomer village (not opt-in): the service's own message.
    village = world["village_task"].stage.program
    response = as_creator(world["mid"]).post(f"/api/v1/me/programmes/{village.pk}/join/",
                                             HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 409 and "not open for sign-up" in response.json()["detail"]

"""metrics/bulk: the file import's rules and words, all or nothing, idempotent twice over."""

import datetime
import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.services import BULK_MAX_ROWS, bulk_fields
from tiers.models import DailyMetric, Influencer
from tiers.tests.factories import InfluencerFactory

pytestmark = pytest.mark.django_db
BULK = "/api/v1/metrics/bulk/"


def stored():
    """Every metric row as it stands, to compare before and after."""
    return sorted(DailyMetric.objects.values_list("influencer__platform_id", "date", "gmv", "orders", "followers",
                                                  "refund_rate", "category_gmv"))


def rows_for(influencer, days, today, **cells):
    return [{"platform_id": influencer.platform_id, "date": (today - datetime.timedelta(days=k)).isoformat(),
             "gmv": "¥1,234.50", "orders": 12, "followers": "1.2万", "refund_rate": "12.5%", **cells}
            for k in range(days)]


@pytest.fixture
def writer(bearer):
    return bearer("read,write-metrics")


def test_a_batch_is_upserted_with_the_import_s_cell_rules(writer, today):
    influencer = InfluencerFactory()

    response = writer.post(BULK, {"rows": rows_for(influencer, 3, today, beauty_gmv="800")}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json() == {"rows": 3, "new": 3, "updated": 0, "unchanged": 0, "creators_created": 0,
                               "earliest_changed": (today - datetime.timedelta(days=2)).isoformat()}
    row = DailyMetric.objects.get(influencer=influencer, date=today)
    assert (str(row.gmv), row.orders, row.followers, str(row.refund_rate)) == ("1234.50", 12, 12000, "0.1250")
    assert row.category_gmv == {"beauty": "800.00"}


def test_unknown_creators_are_created_or_with_report_refused(writer, today):
    row = {"platform_id": "ks-new-1", "handle": "newbie", "date": today.isoformat(), "gmv": 10}

    refused = writer.post(BULK, {"rows": [row], "unknown_creators": "report"}, format="json")
    created = writer.post(BULK, {"rows": [row]}, format="json")

    assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == "platform_id"
    assert created.status_code == 200 and created.json()["creators_created"] == 1
    assert Influencer.objects.get(platform_id="ks-new-1").handle == "newbie"


def test_one_bad_row_writes_nothing_and_names_that_row_and_field(writer, today):
    influencer = InfluencerFactory()
    rows = rows_for(influencer, 5, today)
    rows[3]["orders"] = "many"
    before = stored()

    response = writer.post(BULK, {"rows": rows}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert [(e["index"], e["field"]) for e in body["errors"]] == [(3, "orders")]
    assert "many" in body["errors"][0]["message"]
    assert stored() == before


@pytest.mark.parametrize("field", ["platform_id", "handle"])
def test_a_nul_character_in_text_is_a_named_bad_cell_not_a_database_error(writer, today, field):
    influencer = InfluencerFactory()
    rows = rows_for(influencer, 2, today)
    rows[1][field] = "ks\x00evil"
    before = stored()

    response = writer.post(BULK, {"rows": rows}, format="json", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 400
    assert [(e["index"], e["field"]) for e in response.json()["errors"]] == [(1, field)]
    assert "NUL" in response.json()["errors"][0]["message"]
    assert stored() == before


def test_messages_are_the_import_s_own_in_the_caller_s_language(writer, today):
    influencer = InfluencerFactory()
    rows = [{"platform_id": influencer.platform_id, "date": (today + datetime.timedelta(days=3)).isoformat(), "gmv": 1}]

    chinese = writer.post(BULK, {"rows": rows}, format="json", HTTP_ACCEPT_LANGUAGE="zh-CN").json()["errors"][0]
    english = writer.post(BULK, {"rows": rows}, format="json", HTTP_ACCEPT_LANGUAGE="en").json()["errors"][0]

    assert english["field"] == chinese["field"] == "date"
    assert "has not happened yet" in english["message"]
    assert english["message"] != chinese["message"]


def test_the_same_batch_twice_leaves_the_data_as_after_the_first(writer, today):
    influencer = InfluencerFactory()
    batch = {"rows": rows_for(influencer, 4, today)}
    writer.post(BULK, batch, format="json")
    after_first = stored()

    again = writer.post(BULK, batch, format="json")

    assert again.status_code == 200 and again.json()["unchanged"] == 4 and again.json()["new"] == 0
    assert stored() == after_first


def test_the_same_idempotency_key_twice_applies_once_and_answers_the_same(writer, today):
    influencer = InfluencerFactory()
    batch = {"rows": rows_for(influencer, 2, today)}

    first = writer.post(BULK, batch, format="json", HTTP_IDEMPOTENCY_KEY="run-2026-11-29")
    DailyMetric.objects.filter(influencer=influencer).update(orders=99)  # a later change the retry must not undo
    retry = writer.post(BULK, batch, format="json", HTTP_IDEMPOTENCY_KEY="run-2026-11-29")

    assert first.status_code == retry.status_code == 200
    assert retry.json() == first.json() and first.json()["new"] == 2
    assert retry["Idempotent-Replayed"] == "true"
    assert set(DailyMetric.objects.filter(influencer=influencer).values_list("orders", flat=True)) == {99}


def test_an_idempotency_key_reused_for_another_body_is_409(writer, today):
    influencer = InfluencerFactory()
    writer.post(BULK, {"rows": rows_for(influencer, 1, today)}, format="json", HTTP_IDEMPOTENCY_KEY="k1")

    response = writer.post(BULK, {"rows": rows_for(influencer, 2, today)}, format="json", HTTP_IDEMPOTENCY_KEY="k1")

    assert response.status_code == 409 and "k1" in response.json()["detail"]
    assert DailyMetric.objects.filter(influencer=influencer).count() == 1


def test_more_rows_than_the_limit_is_413_naming_the_limit(writer, today):
    rows = [{"platform_id": "ks-x", "date": today.isoformat(), "gmv": 1}] * (BULK_MAX_ROWS + 1)

    response = writer.post(BULK, {"rows": rows}, format="json")

    assert response.status_code == 413
    assert "10000" in response.json()["detail"].replace(",", "")
    assert not DailyMetric.objects.exists()


def test_an_unknown_or_repeated_field_is_named(writer, today):
    influencer = InfluencerFactory()
    body = ('{"rows": [{"platform_id": "%s", "date": "%s", "gmv": 1}, '
            '{"platform_id": "%s", "date": "%s", "gmv": 1, "gmv": 2, "colour": "red"}]}'
            % (influencer.platform_id, today, influencer.platform_id, today - datetime.timedelta(days=1)))

    response = writer.post(BULK, body, content_type="application/json")

    assert response.status_code == 400
    assert sorted((e["index"], e["field"]) for e in response.json()["errors"]) == [(1, "colour"), (1, "gmv")]
    assert not DailyMetric.objects.exists()


def test_a_duplicate_row_is_refused_naming_the_earlier_one(writer, today):
    influencer = InfluencerFactory()
    rows = rows_for(influencer, 2, today) + rows_for(influencer, 1, today)

    response = writer.post(BULK, {"rows": rows}, format="json")

    assert response.status_code == 400
    assert [(e["index"], e["field"]) for e in response.json()["errors"]] == [(2, "date")]


# ---------------------------------------------------------------- fuzz: never a 500, never half applied

WEIRD = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(), st.just(float("nan")), st.text(max_size=30),
    st.text(min_size=5000, max_size=20000), st.sampled_from(["NaN", "nan", "Infinity", "-1", "1e400", "¥", "1.2.3",
                                                             "2026-02-30", "99999999999999999999"]),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
FIELD = st.sampled_from(bulk_fields() + ["nonsense", ""])


@st.composite
def batches(draw, platform_id, today):
    good = {"platform_id": platform_id, "date": today.isoformat(), "gmv": "100", "orders": 3}
    rows = []
    for k in range(draw(st.integers(min_value=1, max_value=6))):
        row = dict(good, date=(today - datetime.timedelta(days=draw(st.integers(0, 3)))).isoformat())
        for _ in range(draw(st.integers(0, 3))):
            row[draw(FIELD)] = draw(WEIRD)
        if draw(st.booleans()):
            row.pop(draw(st.sampled_from(["platform_id", "date"])), None)
        rows.append(row)
    return rows


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_malformed_batches_never_500_never_half_apply_and_always_name_item_and_field(writer, today, data):
    influencer = Influencer.objects.filter(platform_id="ks-fuzz").first() or InfluencerFactory(platform_id="ks-fuzz")
    rows = data.draw(batches(influencer.platform_id, today))
    if data.draw(st.booleans()):
        rows.append(dict(rows[0]))  # a duplicate row
    before = stored()
    creators = Influencer.objects.count()

    body = json.dumps({"rows": rows}, allow_nan=True)
    response = writer.post(BULK, body, content_type="application/json")

    assert response.status_code in (200, 400), response.content[:300]
    if response.status_code == 400:
        assert stored() == before and Influencer.objects.count() == creators
        for error in response.json()["errors"]:
            assert isinstance(error["index"], int) and 0 <= error["index"] < len(rows)
            assert error["message"]
            assert error["field"] in bulk_fields() or error["field"] in {str(k)[:200] for r in rows for k in r}
    else:
        assert response.json()["rows"] == len(rows)
        assert not any(isinstance(v, float) and not math.isfinite(v) for r in rows for v in r.values())


def test_nan_in_a_row_is_refused_naming_its_row_and_field(writer, today):
    influencer = InfluencerFactory()
    body = '{"rows": [{"platform_id": "%s", "date": "%s", "gmv": NaN}]}' % (influencer.platform_id, today)

    response = writer.post(BULK, body, content_type="application/json")

    assert response.status_code == 400
    assert [(e["index"], e["field"]) for e in response.json()["errors"]] == [(0, "gmv")]


def test_a_full_batch_of_ten_thousand_rows_is_accepted_beyond_django_s_form_limit(writer, today, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100_000  # far below the batch: the bulk endpoint has its own limit
    influencer = InfluencerFactory(onboarded_on=today - datetime.timedelta(days=400))
    rows = [{"platform_id": f"ks-big-{k // 300}", "date": (today - datetime.timedelta(days=k % 300)).isoformat(),
             "gmv": k, "orders": 1} for k in range(BULK_MAX_ROWS)]
    rows[0]["platform_id"] = influencer.platform_id

    response = writer.post(BULK, {"rows": rows}, format="json")

    assert response.status_code == 200, response.content[:300]
    assert response.json()["rows"] == BULK_MAX_ROWS and DailyMetric.objects.count() == BULK_MAX_ROWS


def test_a_body_over_the_byte_limit_is_413(writer, settings):
    settings.LADDER_API_BULK_MAX_BYTES = 1000
    response = writer.post(BULK, {"rows": [{"platform_id": "x" * 2000, "date": "2026-01-01"}]}, format="json")
    assert response.status_code == 413 and "10,000" in response.json()["detail"]


def test_a_body_that_is_not_json_is_415(writer):
    response = writer.post(BULK, "platform_id,date\nks-1,2026-01-01", content_type="text/csv")
    assert response.status_code == 415

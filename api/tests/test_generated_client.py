"""A client generated from the OpenAPI schema (openapi-python-client, offline) works whatever the schema's language:
what generators turn into names stays English, and the client lists, pages, reads, writes a bulk batch and parses a 400."""

import datetime
import importlib
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from api.services import token_create
from tiers.models import DailyMetric, Influencer
from tiers.refresh import refresh_run_sync
from tiers.tests.factories import InfluencerFactory, metric_days

pytestmark = pytest.mark.django_db(transaction=True)

BIN = Path(sys.executable).parent
NON_ASCII = re.compile(r"[^\x00-\x7f]")
LANGUAGES = {"zh_hans": "zh-CN,zh;q=0.9", "en": "en-US,en;q=0.9"}


def generate(client, language: str, folder: Path):
    """The schema as a reader of `language` gets it, turned into a Python package by the generator; the package."""
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json", HTTP_ACCEPT_LANGUAGE=LANGUAGES[language])
    assert schema.status_code == 200
    path = folder / f"schema-{language}.json"
    path.write_bytes(schema.content)
    package = f"ladder_client_{language}"
    generated = subprocess.run(
        [BIN / "openapi-python-client", "generate", "--path", path, "--meta", "none", "--output-path", folder / package],
        capture_output=True, text=True, env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"},
        timeout=300)
    assert generated.returncode == 0, generated.stdout + generated.stderr
    return package


def names(root: Path) -> set[str]:
    """What a programmer writes: every module path and every class the generated client defines."""
    modules = {str(path.relative_to(root)) for path in root.rglob("*.py")}
    classes = {name for path in root.rglob("*.py") for name in re.findall(r"^class (\w+)", path.read_text(), re.M)}
    return modules | classes


@pytest.fixture
def creators(shipped_defaults):
    made = [InfluencerFactory(handle=f"gen_{i}") for i in range(3)]
    for creator in made:
        metric_days(creator, days=30, gmv="5000")  # ¥150k in the window: mid
    InfluencerFactory(handle="gen_tail")
    refresh_run_sync()
    return made


def use(package: str, base_url: str, secret: str, creators) -> None:
    """List mid creators two at a time, follow the cursor, read one, write a bulk batch, and read a 400 back."""
    api = importlib.import_module(package)
    from_package = lambda name: importlib.import_module(f"{package}.{name}")  # noqa: E731
    influencers_list = from_package("api.influencers.influencers_list")
    influencers_retrieve = from_package("api.influencers.influencers_retrieve")
    metrics_bulk_create = from_package("api.metrics.metrics_bulk_create")
    models = from_package("models")
    client = api.AuthenticatedClient(base_url=base_url, token=secret)

    first = influencers_list.sync(client=client, tier=models.InfluencersListTier.MID, page_size=2)
    assert isinstance(first, models.PaginatedInfluencerList) and len(first.results) == 2
    cursor = parse_qs(urlsplit(first.next_).query)["cursor"][0]
    second = influencers_list.sync(client=client, tier=models.InfluencersListTier.MID, page_size=2, cursor=cursor)
    assert [c.handle for c in first.results + second.results] == [c.handle for c in creators]
    assert all(c.tier == models.TierEnum.MID for c in first.results + second.results)

    detail = influencers_retrieve.sync(client=client, id=creators[0].pk)
    assert isinstance(detail, models.InfluencerDetail) and detail.platform_id == creators[0].platform_id

    day = (timezone.localdate() - datetime.timedelta(days=1)).isoformat()
    row = models.MetricsBulkInputRequestRowsItem.from_dict({"platform_id": f"ks-{package}", "date": day, "gmv": "1234.50"})
    written = metrics_bulk_create.sync(client=client, body=models.MetricsBulkInputRequest(rows=[row]))
    assert isinstance(written, models.MetricsBulkResult) and (written.rows, written.new) == (1, 1)

    bad = models.MetricsBulkInputRequestRowsItem.from_dict({"platform_id": f"ks-{package}-bad", "date": "2026-13-01", "gmv": "1"})
    refused = metrics_bulk_create.sync(client=client, body=models.MetricsBulkInputRequest(rows=[bad]))
    assert isinstance(refused, models.Error) and refused.code
    assert [(problem.index, problem.field) for problem in refused.errors] == [(0, "date")]


def test_a_client_generated_in_either_language_has_the_same_english_names_and_works(client, live_server, creators,
                                                                                    tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    packages = {language: generate(client, language, tmp_path) for language in LANGUAGES}
    generated = {language: names(tmp_path / package) for language, package in packages.items()}

    assert sorted(name for name in generated["zh_hans"] if NON_ASCII.search(name)) == []
    assert generated["zh_hans"] == generated["en"]
    assert "InfluencersListTier" in generated["zh_hans"]

    _, secret = token_create(name="generated client", scopes="read,write-metrics")
    for package in packages.values():
        use(package, live_server.url, secret, creators)
        assert DailyMetric.objects.filter(influencer__platform_id=f"ks-{package}").count() == 1
        assert not Influencer.objects.filter(platform_id=f"ks-{package}-bad").exists()  # the 400 wrote nothing

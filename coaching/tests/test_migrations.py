"""Stored criteria are migrated to the one condition language; what it refuses is reported and left as it was."""

import importlib
import logging

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils.translation import override

from coaching.conditions import condition_from_json, conditions_from_json
from coaching.models import PlaybookRule, Program, Stage, Task
from coaching.adapters import program_specs

pytestmark = pytest.mark.django_db(transaction=True)

SHIPPED_PROGRAMMES = importlib.import_module("coaching.migrations.0002_default_programmes").PROGRAMMES
SHIPPED_PLAYBOOK = importlib.import_module("coaching.migrations.0003_default_playbook").DEFAULT_RULES


def migrate(targets):
    """Migrate the test database to `targets` and return the apps as they were there."""
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def before_the_conversion(shipped_defaults):
    """The database as it was just before the conversion (what migrating shipped included), then the
    latest state again whatever the test did."""
    graph = MigrationExecutor(connection).loader.graph
    (conversion,) = [key for key in graph.nodes if key[0] == "coaching" and key[1].endswith("_one_condition_language")]
    (previous,) = [parent.key for parent in graph.node_map[conversion].parents if parent.key[0] == "coaching"]
    try:
        yield migrate([previous])
    finally:
        migrate(graph.leaf_nodes())


def in_feature_shape(document):
    """A shipped document as the conversion writes it."""
    if isinstance(document, dict) and "metric" in document:
        return {"feature" if key == "metric" else key: value for key, value in document.items()}
    return [in_feature_shape(item) for item in document] if isinstance(document, list) else document


def test_stored_criteria_are_converted_and_what_no_longer_parses_is_reported(before_the_conversion, caplog):
    old = before_the_conversion
    OldStage, OldTask, OldRule = (old.get_model("coaching", name) for name in ("Stage", "Task", "PlaybookRule"))
    # given the shipped village in the shape it had before (the conversion's reverse put it back)
    assert OldTask.objects.get(title_en="Reach your first 10 orders").criterion == {
        "metric": "orders", "op": ">=", "value": 10}
    # and rows staff wrote in the old shape, good and bad
    programme = old.get_model("coaching", "Program").objects.create(code="sprint", kind="campaign", name_zh="冲刺")
    good = OldStage.objects.create(program=programme, order=1, name_zh="起步",
                                   entry_criteria={"metric": "active_days", "op": ">=", "value": 7},
                                   exit_criteria=[{"metric": "live_share", "op": ">=", "value": "0.5"}])
    percent = OldStage.objects.create(program=programme, order=2, name_zh="冲刺",
                                      exit_criteria=[{"metric": "live_share", "op": "<", "value": 60}])
    listed = OldTask.objects.create(stage=good, order=1, title_zh="十单", check_by="metric",
                                    criterion=[{"metric": "orders", "op": ">=", "value": 10}])
    not_a_number = OldTask.objects.create(stage=good, order=2, title_zh="无数", check_by="metric",
                                          criterion={"metric": "orders", "op": ">=", "value": "nan"})
    rule = OldRule.objects.create(code="refunds", conditions=[{"feature": "refund_rate", "op": ">", "value": 15}],
                                  text_zh="退款", text_en="refunds")

    # when migrating forward
    with caplog.at_level(logging.WARNING), override("en"):
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    # then what parses is in the feature shape and means the same
    assert Stage.objects.get(pk=good.pk).entry_criteria == [{"feature": "active_days", "op": ">=", "value": 7}]
    assert Stage.objects.get(pk=good.pk).exit_criteria == [{"feature": "live_share", "op": ">=", "value": "0.5"}]
    assert Task.objects.get(pk=listed.pk).criterion == {"feature": "orders", "op": ">=", "value": 10}
    # and what the stricter validator refuses is left as it was, and reported with its row and path
    assert Stage.objects.get(pk=percent.pk).exit_criteria == [{"metric": "live_share", "op": "<", "value": 60}]
    assert Task.objects.get(pk=not_a_number.pk).criterion == {"metric": "orders", "op": ">=", "value": "nan"}
    assert PlaybookRule.objects.get(pk=rule.pk).conditions == [{"feature": "refund_rate", "op": ">", "value": 15}]
    reported = [record.getMessage() for record in caplog.records if record.name.endswith("_one_condition_language")]
    assert reported == [
        f"coaching.Stage #{percent.pk} exit_criteria left as it was: exit_criteria[0].value: must be between 0 and 1 "
        "(0.2 for 20%)",
        f"coaching.Task #{not_a_number.pk} criterion left as it was: criterion.value: must be a number",
        f"coaching.PlaybookRule #{rule.pk} conditions left as it was: conditions[0].value: must be between 0 and 1 "
        "(0.2 for 20%)",
    ]


def test_what_migrating_ships_parses_and_equals_the_migrations_constants(before_the_conversion):
    # given the shipped rows in the old shape, when migrating forward
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    # then the shipped programmes are the migration's, in the feature shape, and every criterion parses
    for spec in SHIPPED_PROGRAMMES:
        stages = Stage.objects.filter(program__code=spec["code"]).order_by("order")
        assert len(stages) == len(spec.get("stages", []))
        for stage, stage_spec in zip(stages, spec.get("stages", []), strict=True):
            assert stage.exit_criteria == in_feature_shape(stage_spec.get("exit_criteria", []))
            assert conditions_from_json(stage.entry_criteria) == ()
            assert len(conditions_from_json(stage.exit_criteria)) == len(stage.exit_criteria)
            tasks = [task.criterion for task in stage.tasks.order_by("order")]
            assert tasks == [in_feature_shape(task.get("criterion", {})) for task in stage_spec["tasks"]]
            assert all(condition_from_json(criterion) for criterion in tasks if criterion)
    assert program_specs(Program.objects.prefetch_related("stages__tasks"))
    # and the shipped playbook is the one the playbook's tests read
    stored = {rule.code: rule.to_json() for rule in PlaybookRule.objects.all()}
    assert stored == {rule["code"]: rule for rule in SHIPPED_PLAYBOOK}

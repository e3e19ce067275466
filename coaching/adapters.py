"""ORM rows as coaching's pure rules see them: programmes with their stages and eligibility, and creators."""

from tiers.choices import InfluencerStatus

from .choices import EnrollmentPolicy, TaskCheck
from .conditions import condition_from_json, conditions_from_json
from .models import Program
from .rules import Creator, Eligibility, ProgramSpec, StageSpec


def program_specs(programs) -> list[ProgramSpec]:
    """Programmes (with stages and tasks prefetched) as the pure rules see them."""
    specs = []
    for program in programs:
        stages = []
        for stage in program.stages.all():
            tasks = list(stage.tasks.all())
            stages.append(
                StageSpec(
                    id=stage.pk,
                    entry=conditions_from_json(stage.entry_criteria, "entry_criteria"),
                    exit=conditions_from_json(stage.exit_criteria, "exit_criteria"),
                    exit_needs_tasks=stage.exit_needs_tasks,
                    required_tasks=frozenset(t.pk for t in tasks if t.required),
                    metric_tasks=tuple(
                        (t.pk, condition_from_json(t.criterion, "criterion")) for t in tasks if t.check_by == TaskCheck.METRIC and t.criterion
                    ),
                )
            )
        specs.append(
            ProgramSpec(
                id=program.pk,
                auto=program.enrollment_policy == EnrollmentPolicy.AUTO,
                eligibility=eligibility_of(program),
                stages=tuple(stages),
                grace_days=program.exit_grace_days,
            )
        )
    return specs


def eligibility_of(program: Program) -> Eligibility:
    return Eligibility(
        tiers=frozenset(program.eligible_tiers),
        types=frozenset(program.eligible_types),
        categories=frozenset(program.eligible_categories),
        reputation_floor=program.reputation_floor,
        starts_on=program.starts_on,
        ends_on=program.ends_on,
        is_active=program.is_active,
    )


def as_creator(*, tier, creator_type, category, status, features) -> Creator:
    """A creator as the eligibility rules see them; reputation comes from the window's features."""
    return Creator(tier=tier, creator_type=creator_type, category=category,
                   reputation=features.reputation if features else None, active=status == InfluencerStatus.ACTIVE)

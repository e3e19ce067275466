"""Chunked assignment runs: chunk rows, progress counts, waiting runs, one assignment per refresh."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Count
from django.utils import timezone


def settle_unchunked_runs(apps, schema_editor):
    """Runs written before assignment had chunks, made to fit the new rules.

    A run still marked running has no chunks to resume: it was interrupted (a killed worker left it
    active and blocked every later assignment), so it is failed and the next one can start. An
    announcement delivered twice used to make a second run for the same refresh, which found
    nothing to do; such later runs lose their link to the refresh, which now has one assignment.
    """
    AssignmentRun = apps.get_model("coaching", "AssignmentRun")
    now = timezone.now()
    AssignmentRun.objects.filter(status="running").update(
        status="failed", active=None, finished_at=now, updated_at=now,
        error="Interrupted before assignment ran in chunks; the next assignment replaces it.",
    )
    repeated = (
        AssignmentRun.objects.filter(refresh_run__isnull=False).exclude(status="failed")
        .values("refresh_run").annotate(n=Count("id")).filter(n__gt=1).values_list("refresh_run", flat=True)
    )
    for refresh_run_id in list(repeated):
        runs = AssignmentRun.objects.filter(refresh_run_id=refresh_run_id).exclude(status="failed").order_by("id")
        AssignmentRun.objects.filter(pk__in=list(runs.values_list("pk", flat=True)[1:])).update(refresh_run=None)


class Migration(migrations.Migration):

    dependencies = [
        ('coaching', '0005_one_condition_language'),
        ('tiers', '0004_below_keep_index'),
    ]

    operations = [
        migrations.CreateModel(
            name='AssignmentChunk',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('index', models.PositiveIntegerField()),
                ('first_id', models.BigIntegerField()),
                ('last_id', models.BigIntegerField()),
                ('done_at', models.DateTimeField(blank=True, null=True)),
            ],
            options={
                'ordering': ['run', 'index'],
            },
        ),
        migrations.AddField(
            model_name='assignmentrun',
            name='chunk_count',
            field=models.PositiveIntegerField(default=0, verbose_name='chunks'),
        ),
        migrations.AddField(
            model_name='assignmentrun',
            name='chunks_done',
            field=models.PositiveIntegerField(default=0, verbose_name='chunks done'),
        ),
        migrations.AddField(
            model_name='assignmentrun',
            name='notified',
            field=models.PositiveIntegerField(default=0, verbose_name='notifications'),
        ),
        migrations.AddField(
            model_name='assignmentrun',
            name='resent',
            field=models.PositiveSmallIntegerField(default=0, help_text='how often its unfinished chunks were sent to the workers again', verbose_name='times resent'),
        ),
        migrations.AlterField(
            model_name='assignmentrun',
            name='error',
            field=models.TextField(blank=True, verbose_name='error'),
        ),
        migrations.AlterField(
            model_name='assignmentrun',
            name='status',
            field=models.CharField(choices=[('waiting', 'Waiting for the running assignment'), ('running', 'Running'), ('succeeded', 'Succeeded'), ('failed', 'Failed')], default='running', max_length=12, verbose_name='status'),
        ),
        migrations.AddField(
            model_name='assignmentchunk',
            name='run',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='chunks', to='coaching.assignmentrun'),
        ),
        migrations.AddConstraint(
            model_name='assignmentchunk',
            constraint=models.UniqueConstraint(fields=('run', 'index'), name='one_assignment_chunk_per_index'),
        ),
        migrations.RunPython(settle_unchunked_runs, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='assignmentrun',
            constraint=models.UniqueConstraint(condition=models.Q(('refresh_run__isnull', False), models.Q(('status', 'failed'), _negated=True)), fields=('refresh_run',), name='one_assignment_per_refresh'),
        ),
    ]

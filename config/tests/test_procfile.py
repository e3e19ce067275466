"""The Procfile starts what a deployment needs: web, a batch worker, a worker for what people wait for, one beat."""

import subprocess

from honcho.environ import parse_procfile

from config.celery_app import BATCH_TASKS
from config.celery_app import app as celery_app
from config.settings.base import BASE_DIR


def _expanded(command: str, env: dict) -> list[str]:
    """The command's words as the shell that honcho starts will see them."""
    out = subprocess.run(["sh", "-c", f"printf '%s\\n' {command}"], env=env, check=True, capture_output=True, text=True)
    return out.stdout.splitlines()


def _consumed(words: list[str]) -> set[str]:
    return set(words[words.index("-Q") + 1].split(","))


def test_the_procfile_runs_one_beat_and_workers_for_every_queue_the_site_sends_to():
    # given the Procfile, its commands expanded for a site named "shop"
    processes = parse_procfile((BASE_DIR / "Procfile").read_text()).processes
    commands = {name: _expanded(command, {"CELERY_QUEUE": "shop", "PATH": "/usr/bin:/bin"})
                for name, command in processes.items()}

    # then there is a web process and exactly one beat
    assert commands["web"][:2] == ["gunicorn", "config.wsgi"]
    assert [name for name, words in commands.items() if "beat" in words] == ["beat"]

    # and the batch worker takes batch work only, while the other worker takes what people wait for and the probe
    batch, interactive = _consumed(commands["batch"]), _consumed(commands["interactive"])
    assert batch == {"shop.batch"}
    assert interactive == {"shop", "shop.health"}

    # and they are the queues the router sends to, for a site whose queue is "shop"
    original = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = "shop"
    try:
        routed = {celery_app.amqp.router.route({}, name)["queue"].name for name in (*BATCH_TASKS, "tiers.after_decision")}
    finally:
        celery_app.conf.task_default_queue = original
    assert routed == {"shop", "shop.batch"}

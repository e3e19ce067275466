"""Test settings: the suite runs against whatever DATABASE_URL and REDIS_URL name."""

import uuid

from .base import *  # noqa: F403
from .base import BASE_DIR, DATABASES, env

DEBUG = False
SECRET_KEY = "test-only-not-secret"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
# A file, not memory, so a real Celery worker process can open the same test database.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / ".pytest-db.sqlite3")}

# Uploads go where the tests' worker, started with these settings, finds them.
MEDIA_ROOT = env.path("DJANGO_MEDIA_ROOT", default=BASE_DIR / ".pytest-media")

# A Celery worker started by the tests opens the test database the test process created.
_worker_database = env("LADDER_TEST_WORKER_DATABASE", default="")
if _worker_database:
    DATABASES["default"]["NAME"] = _worker_database

# Each test run sends to a queue of its own, so a worker left running on the same Redis (a dev
# site, another checkout's run) never takes the tests' tasks, nor the tests its tasks.
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_QUEUE", default=f"ladder-test-{uuid.uuid4().hex[:12]}")

"""Celery entry point: `celery -A celery_worker.celery worker` (and `beat`)."""

from smbfinance import create_app
from smbfinance.heap import settle_after_start

app = create_app()
celery = app.extensions["celery"]
settle_after_start()  # before the pool forks: the children share the frozen start-up heap

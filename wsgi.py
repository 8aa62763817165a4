"""WSGI entry point: `gunicorn wsgi:app`."""

from smbfinance import create_app
from smbfinance.heap import settle_after_start

app = create_app()
settle_after_start()

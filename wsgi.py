"""WSGI entry point: `gunicorn wsgi:app`."""

from smbfinance import create_app

app = create_app()

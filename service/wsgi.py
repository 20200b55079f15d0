"""WSGI entry point for gunicorn: `gunicorn -w 4 service.wsgi:app`."""

from service.app import create_app

app = create_app()

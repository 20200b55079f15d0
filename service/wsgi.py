"""WSGI entry point for gunicorn: `gunicorn -c deploy/gunicorn.conf.py service.wsgi:app`.

A production server refuses to start on development secrets: the default SECRET_KEY (which
signs sessions and, without AUDIT_SIGNING_KEY, would also derive the audit signing key) or no
AUDIT_SIGNING_KEY. DEVELOPMENT=1 lets it start anyway (benchmarks, a laptop)."""

import os

from service.app import create_app
from service.config import Settings

settings = Settings.from_env()
if os.environ.get("DEVELOPMENT") != "1":
    unsafe = settings.unsafe_for_production()
    if unsafe:
        raise SystemExit(
            "refusing to start: " + "; ".join(unsafe) + " (DEVELOPMENT=1 starts anyway)"
        )

app = create_app(settings)

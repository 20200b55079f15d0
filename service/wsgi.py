"""WSGI entry point for gunicorn: `gunicorn -c deploy/gunicorn.conf.py service.wsgi:app`.

A production server refuses to start on development secrets: the default SECRET_KEY (which
signs sessions and, without AUDIT_SIGNING_KEY, would also derive the audit signing key) or no
AUDIT_SIGNING_KEY. DEVELOPMENT=1 lets it start anyway (benchmarks, a laptop)."""

import gc
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
# What the app built at start-up (modules, mappers, schemas, the workflow) lives as long as the
# process: out of the cyclic collector's sight, a full collection no longer walks it (one took
# ~90 ms every few thousand requests, ~15 µs a request on average; docs/decisions/0032).
gc.freeze()

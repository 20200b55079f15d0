"""The baseline: the same stack (gunicorn, Flask, SQLAlchemy, psycopg) doing one INSERT + commit."""

from __future__ import annotations

import os

from flask import Flask, Response
from sqlalchemy import text

from service.db import make_engine

engine = make_engine(os.environ["DATABASE_URL"])
app = Flask(__name__)


@app.post("/bare")
def bare() -> Response:
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO bench_bare (payload) VALUES (:p)"), {"p": "x" * 64})
    return Response('{"ok": true}', mimetype="application/json")

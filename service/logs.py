"""Logging: one JSON object per line (LOG_FORMAT=json, the default; `text` for a terminal),
each carrying the request id a 500/503 answer names, the account and the route; and one
`request` line per HTTP request with method, route, status and duration.

Log lines never carry a ballot code, a receipt or a complaint's tracking code. They travel in
page addresses (/b/<code>, /complaints/<code>) and API paths; an access log that kept them would
tie a code to a time and an address (docs/decisions/0017). Paths are logged redacted, and the
development server's and gunicorn's access loggers pass through the same filter."""

from __future__ import annotations

import logging
import re
import sys

from flask import g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter

SECRET_IN_PATH = re.compile(
    r"(/b/|/api/v1/ballots/|/complaints/|/api/v1/public/complaints/|/receipts/)"
    r"(?!track\b|new\b|cast\b|receipt\b)[^\s?\"/]+"
)
SECRET_IN_QUERY = re.compile(r"([?&](?:code|receipt)=)[^\s&\"]+")


def redact(text: str) -> str:
    return SECRET_IN_QUERY.sub(r"\1…", SECRET_IN_PATH.sub(r"\1…", text))


class RedactCodes(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


class RequestContext(logging.Filter):
    """Every record made while a request is served says which request, who and where."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context():
            record.request_id = g.get("request_id")
            principal = g.get("principal")
            record.account = getattr(principal, "username", None)
            record.route = request.url_rule.rule if request.url_rule else None
        return True


FIELDS = ["asctime", "levelname", "name", "message"]


def configure(fmt: str = "json") -> None:
    """The root logger's one handler (stderr), JSON or text, with the request context."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        formatter: logging.Formatter = JsonFormatter(
            FIELDS,
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            json_ensure_ascii=False,
        )
    else:
        formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handler.setFormatter(formatter)
    handler.addFilter(RequestContext())
    handler.addFilter(RedactCodes())
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "grading", False)]:
        root.removeHandler(old)
    handler.grading = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.getLogger("transitions").setLevel(logging.WARNING)  # a line per callback otherwise


def install() -> None:
    for name in ("werkzeug", "gunicorn.access"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactCodes) for f in logger.filters):
            logger.addFilter(RedactCodes())

"""Logging: one JSON object per line (LOG_FORMAT=json, the default; `text` for a terminal),
each carrying the request id a 500/503 answer names, the account and the route; and one
`request` line per HTTP request with method, route, status and duration.

Log lines never carry a ballot code, a receipt or a complaint's tracking code. They travel in
page addresses (/b/<code>, /complaints/<code>) and API paths; an access log that kept them would
tie a code to a time and an address (docs/decisions/0017). Paths are logged redacted, and the
development server's and gunicorn's access loggers pass through the same filter."""

from __future__ import annotations

import json
import logging
import re
import sys
from typing import Any

from flask import g, has_request_context, request
from pythonjsonlogger.json import JsonEncoder

# Where a secret travels: after one of these path prefixes, or as one of these query values.
SECRET_PATH_PREFIXES = (
    "/b/",
    "/api/v1/ballots/",
    "/complaints/",
    "/api/v1/public/complaints/",
    "/receipts/",
)
SECRET_QUERY_NAMES = ("code", "receipt")
SECRET_IN_PATH = re.compile(
    f"({'|'.join(map(re.escape, SECRET_PATH_PREFIXES))})"
    r"(?!track\b|new\b|cast\b|receipt\b)[^\s?\"/]+"
)
SECRET_IN_QUERY = re.compile(f"([?&](?:{'|'.join(SECRET_QUERY_NAMES)})=)" r"[^\s&\"]+")
# Text holding none of these cannot match either pattern: most paths are not searched further.
_MARKERS = SECRET_PATH_PREFIXES + tuple(f"{name}=" for name in SECRET_QUERY_NAMES)


def redact(text: str) -> str:
    if not any(marker in text for marker in _MARKERS):
        return text
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
            here = g._get_current_object()  # one context lookup, not one per attribute
            record.request_id = getattr(here, "request_id", None)
            record.account = getattr(getattr(here, "principal", None), "username", None)
            rule = request.url_rule
            record.route = rule.rule if rule else None
        return True


# A record's own attributes (and what formatting adds): everything else on it is an extra.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "taskName",
}
# Plain values by the C encoder; datetimes, exceptions, enums… as python-json-logger does.
_ENCODE = json.JSONEncoder(ensure_ascii=False, default=JsonEncoder().default).encode


class JsonLines(logging.Formatter):
    """One JSON object per record: time, level, logger, message, then its extras (the request
    context's request_id, account and route; the request line's method, path, status and
    duration) and a formatted exc_info / stack_info. A request writes one such line: built
    directly, with the second's timestamp text formatted once per second."""

    def __init__(self) -> None:
        super().__init__()
        self._second = -1
        self._stamp = ""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        second = int(record.created)
        if second != self._second:
            self._second, self._stamp = second, super().formatTime(record)[:-4]
        return f"{self._stamp},{int(record.msecs):03d}"

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD:
                data[key] = value
        if record.exc_info:
            data["exc_info"] = self.formatException(record.exc_info)
        elif record.exc_text:
            data["exc_info"] = record.exc_text
        if record.stack_info:
            data["stack_info"] = self.formatStack(record.stack_info)
        return _ENCODE(data)


def configure(fmt: str = "json") -> None:
    """The root logger's one handler (stderr), JSON or text, with the request context."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        formatter: logging.Formatter = JsonLines()
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
    # What no line here shows is not collected per record (the logging HOWTO's "Optimization"):
    # the caller's file, line and function (a walk up the stack), the thread, the
    # multiprocessing process name. The process id stays: gunicorn's lines show it.
    logging._srcfile = None
    logging.logThreads = False
    logging.logMultiprocessing = False


def install() -> None:
    for name in ("werkzeug", "gunicorn.access"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactCodes) for f in logger.filters):
            logger.addFilter(RedactCodes())

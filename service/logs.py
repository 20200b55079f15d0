"""Log lines never carry a ballot code, a receipt or a complaint's tracking code.

They travel in page addresses (/b/<code>, /complaints/<code>) and API paths; an access log that
kept them would tie a code to a time and an address (docs/decisions/0017). The development
server's and gunicorn's access loggers both pass through this filter."""

from __future__ import annotations

import logging
import re

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


def install() -> None:
    for name in ("werkzeug", "gunicorn.access"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactCodes) for f in logger.filters):
            logger.addFilter(RedactCodes())

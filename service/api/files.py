"""Lists and reports as files: the format asked for (`?format=` or Accept) and the
attachment's name."""

from __future__ import annotations

from urllib.parse import quote

from flask import Response, request

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FILE_TYPES = {"json": "application/json", "csv": "text/csv", "xlsx": XLSX}


def chosen_format(*offered: str) -> str:
    """`?format=`, or else the offered format (json, csv, xlsx) the Accept header prefers; json
    when it names none of them."""
    chosen = request.args.get("format")
    if chosen:
        return chosen
    best = request.accept_mimetypes.best_match([FILE_TYPES[f] for f in ("json", *offered)])
    return next((f for f in offered if FILE_TYPES[f] == best), "json")


def attachment(response: Response, fallback: str, name: str) -> Response:
    """A file to save under `name` (RFC 6266: `fallback` for clients that only read ASCII)."""
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"
    )
    return response

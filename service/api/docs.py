"""The contract (openapi.yaml / .json), the problem types and the service's front door."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml
from flask import Blueprint, Response, json

from service.api.problems import PROBLEM_TYPES, problem
from service.api.spec import render_yaml
from service.errors import NotFound

pages = Blueprint("pages", __name__)

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi.yaml"


@functools.cache
def spec_text() -> str:
    if SPEC_PATH.exists():
        return SPEC_PATH.read_text(encoding="utf-8")
    return render_yaml()  # installed without the repository's file


@functools.cache
def spec_dict() -> dict[str, Any]:
    return yaml.load(spec_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


@pages.get("/openapi.yaml")
def openapi_yaml() -> Response:
    return Response(spec_text(), mimetype="application/yaml")


@pages.get("/openapi.json")
def openapi_json() -> Response:
    return Response(json.dumps(spec_dict(), ensure_ascii=False), mimetype="application/json")


@pages.get("/problems")
def problem_types() -> Response:
    body = {
        "items": [
            {"type": f"/problems/{slug}", "title": title, "description": text}
            for slug, (title, text) in sorted(PROBLEM_TYPES.items())
        ]
    }
    return Response(json.dumps(body, ensure_ascii=False), mimetype="application/json")


@pages.get("/problems/<slug>")
def problem_type(slug: str) -> Response:
    if slug not in PROBLEM_TYPES:
        return problem(NotFound, f"no problem type {slug!r}")
    title, text = PROBLEM_TYPES[slug]
    body = {"type": f"/problems/{slug}", "title": title, "description": text}
    return Response(json.dumps(body, ensure_ascii=False), mimetype="application/json")

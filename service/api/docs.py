"""Non-API pages: the spec itself, a human-readable API page that works offline, problem types."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml
from flask import Blueprint, Response, json, render_template_string

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
    return yaml.safe_load(spec_text())


@pages.get("/openapi.yaml")
def openapi_yaml() -> Response:
    return Response(spec_text(), mimetype="application/yaml")


@pages.get("/openapi.json")
def openapi_json() -> Response:
    return Response(json.dumps(spec_dict(), ensure_ascii=False), mimetype="application/json")


DOCS_TEMPLATE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{{ info.title }}</title>
<style>
body{font-family:system-ui,"Noto Sans CJK SC",sans-serif;max-width:62rem;margin:2rem auto;padding:0 1rem;color:#222}
h2{border-bottom:1px solid #ccc;padding-bottom:.2rem;margin-top:2rem}
.op{border:1px solid #ddd;border-radius:6px;margin:.6rem 0;padding:.5rem .8rem}
.m{display:inline-block;min-width:4.2rem;font-weight:bold;font-family:monospace}
.GET{color:#0a6}.POST{color:#06c}.PATCH{color:#b60}.DELETE{color:#c00}
code{background:#f4f4f4;padding:0 .2rem}table{border-collapse:collapse}td{padding:.1rem .6rem;vertical-align:top}
</style></head><body>
<h1>{{ info.title }} <small>{{ info.version }}</small></h1>
<p>The contract: <a href="/openapi.yaml">openapi.yaml</a> (OpenAPI {{ openapi }}). This page is rendered
by the service from the same file and needs nothing from the network.</p>
<pre>{{ info.description }}</pre>
{% for tag, ops in groups %}<h2>{{ tag }}</h2>
{% for method, path, op in ops %}<div class="op"><span class="m {{ method }}">{{ method }}</span>
<code>{{ path }}</code> — {{ op.summary }}{% if not op.security %} <em>(no token)</em>{% endif %}
{% if op.description %}<p>{{ op.description }}</p>{% endif %}
<table>{% for p in op.parameters or [] %}<tr><td><code>{{ p.name }}</code></td><td>{{ p['in'] }}</td>
<td>{{ p.schema.type if p.schema else '' }}</td><td>{{ p.description or '' }}</td></tr>{% endfor %}</table>
{% if op.requestBody %}<p>Body: {% for ct, c in op.requestBody.content.items() %}<code>{{ ct }}</code>
{{ c.schema['$ref'].split('/')[-1] if c.schema and '$ref' in c.schema else '' }} {% endfor %}</p>{% endif %}
<p>Responses: {% for code, r in op.responses.items() %}<code>{{ code }}</code> {{ r.description }}; {% endfor %}</p>
</div>{% endfor %}{% endfor %}
<h2>Problem types</h2><table>{% for slug, (title, text) in problems %}
<tr id="{{ slug }}"><td><code>/problems/{{ slug }}</code></td><td>{{ title }}</td><td>{{ text }}</td></tr>{% endfor %}
</table></body></html>"""


@pages.get("/docs")
def docs() -> str:
    spec = spec_dict()
    groups: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            groups.setdefault(op["tags"][0], []).append((method.upper(), path, op))
    return render_template_string(
        DOCS_TEMPLATE,
        info=spec["info"],
        openapi=spec["openapi"],
        groups=sorted(groups.items()),
        problems=sorted(PROBLEM_TYPES.items()),
    )


@pages.get("/problems/<slug>")
def problem_type(slug: str) -> Response:
    if slug not in PROBLEM_TYPES:
        return problem(NotFound, f"no problem type {slug!r}")
    title, text = PROBLEM_TYPES[slug]
    body = {"type": f"/problems/{slug}", "title": title, "description": text}
    return Response(json.dumps(body, ensure_ascii=False), mimetype="application/json")


@pages.get("/")
def index() -> Response:
    body = {
        "service": "基层党组织分类定级",
        "api": "/api/v1",
        "openapi": "/openapi.yaml",
        "docs": "/docs",
    }
    return Response(json.dumps(body, ensure_ascii=False), mimetype="application/json")

"""The front door, and the API reference: Swagger UI from the flask-swagger-ui wheel's
bundled files (served from here, nothing from the network), started by our own script."""

from __future__ import annotations

from pathlib import Path

import flask_swagger_ui
from flask import Response, json, redirect, request, send_from_directory, url_for
from werkzeug.wrappers import Response as BaseResponse

from service.pages.web import page, web

SWAGGER_UI = Path(flask_swagger_ui.__file__).resolve().parent / "dist"
ASSETS = frozenset({"swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png"})


@web.get("/")
def index() -> Response:
    """The front door: a page for a browser, the addresses as JSON for a program."""
    if request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html":
        return page("index.html", heading="首页")
    body = {
        "service": "基层党组织分类定级",
        "api": "/api/v1",
        "openapi": "/openapi.yaml",
        "docs": "/docs",
        "pages": {"ballot": "/b", "notices": "/notice", "complaints": "/complaints/track"},
    }
    return Response(json.dumps(body, ensure_ascii=False), mimetype="application/json")


@web.get("/favicon.ico")
def favicon() -> BaseResponse:
    """Browsers ask for it on their own: the pages' icon, not a 404 in every log."""
    response = redirect(url_for("web.static", filename="favicon.svg"), 301)
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


@web.get("/docs")
def docs() -> Response:
    return page("docs.html", heading="接口文档")


@web.get("/docs/assets/<name>")
def docs_asset(name: str) -> Response:
    if name not in ASSETS:
        return page("explain.html", 404, heading="没有找到", text="没有这个文件。", kind="404")
    response = send_from_directory(SWAGGER_UI, name, max_age=86400)
    return response

"""Every page, registered on the app (importing the modules registers their routes)."""

from __future__ import annotations

from flask import Flask

from service.pages import ballots, docs, publicity, web

PAGES = (ballots, docs, publicity)


def install(app: Flask) -> None:
    web.install(app)

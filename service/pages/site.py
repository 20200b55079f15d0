"""Every page, registered on the app (importing the modules registers their routes)."""

from __future__ import annotations

from flask import Flask

from service.pages import ballots, docs, plans, publicity, web, workbench

PAGES = (ballots, docs, plans, publicity)


def install(app: Flask) -> None:
    workbench.room_for_uploads(app)  # before the CSRF check reads the form
    web.install(app)
    workbench.install(app)

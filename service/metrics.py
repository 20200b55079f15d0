"""Prometheus metrics at /metrics: requests by route and status, latency by route, transitions
by name, approvals waiting. Under gunicorn set PROMETHEUS_MULTIPROC_DIR (deploy/gunicorn.conf.py
does) and every worker's counts are added up at each scrape."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

from flask import Flask, Request, Response, current_app
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from service import calendar
from service.gradings.models import Approval, Grading
from service.workdays import operations as workdays
from service.workflows.states import UNDER_PUBLICITY

REQUESTS = Counter(
    "grading_http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
LATENCY = Histogram(
    "grading_http_request_duration_seconds",
    "time to answer, by route",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
TRANSITIONS = Counter("grading_transitions_total", "grading transitions fired", ["transition"])


def observe(request: Request, status: int, seconds: float) -> None:
    rule = request.url_rule
    route = rule.rule if rule else "(no route)"
    if route == "/metrics":
        return
    key = (request.method, route, status)
    children = _CHILDREN.get(key)
    if children is None:
        children = _CHILDREN[key] = (
            REQUESTS.labels(request.method, route, str(status)),
            LATENCY.labels(route),
        )
    children[0].inc()
    children[1].observe(seconds)


def transition_fired(name: str) -> None:
    child = _FIRED.get(name)
    if child is None:
        child = _FIRED[name] = TRANSITIONS.labels(name)
    child.inc()


# Each label combination's child, looked up once (`labels` validates and locks every call).
# Bounded: the routes, methods and statuses the app answers; the transitions of the workflow.
_CHILDREN: dict[tuple[str, str, int], tuple[Any, Any]] = {}
_FIRED: dict[str, Any] = {}


class PendingApprovals(Collector):
    """Read from the database at each scrape, so every process agrees."""

    def __init__(self, factory: Callable[[], Session]) -> None:
        self.factory = factory

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            with self.factory() as session:
                count = session.scalar(
                    select(func.count()).select_from(Approval).where(Approval.state == "pending")
                )
                estimated = session.scalar(
                    select(func.count())
                    .select_from(Grading)
                    .where(
                        Grading.publicity_ends_estimated.is_(True),
                        Grading.state.in_(UNDER_PUBLICITY),
                    )
                )
                workdays.fresh(session)
                this_year = calendar.today().year
                known = {y: calendar.source(y) != "weekends" for y in (this_year, this_year + 1)}
        except DBAPIError:  # the database is down: the process's own metrics still matter
            up = 0
        else:
            up = 1
            yield GaugeMetricFamily(
                "grading_approvals_pending", "approvals waiting for a supervisor", value=count or 0
            )
            yield GaugeMetricFamily(
                "grading_publicity_ends_estimated",
                "notices under way whose end was counted on weekends alone (a year's holidays "
                "not entered: PUT /api/v1/calendar/YEAR)",
                value=estimated or 0,
            )
            years = GaugeMetricFamily(
                "grading_calendar_year_known",
                "1 when the year's holidays and 调休 are known (entered or from the package); "
                "alert on 0 for next year in December",
                labels=["year"],
            )
            for year, is_known in known.items():
                years.add_metric([str(year)], 1 if is_known else 0)
            yield years
        yield GaugeMetricFamily(
            "grading_database_up", "1 when the database answered this scrape", value=up
        )


def install(app: Flask) -> None:
    @app.get("/metrics")
    def _metrics() -> Response:
        registry = CollectorRegistry()
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            multiprocess.MultiProcessCollector(registry)
        else:
            for collector in (REQUESTS, LATENCY, TRANSITIONS):
                registry.register(collector)
        registry.register(PendingApprovals(current_app.extensions["grading.sessions"]))
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)

"""Prometheus metrics at /metrics: requests by route and status, latency by route, transitions
by name, approvals waiting. Under gunicorn set PROMETHEUS_MULTIPROC_DIR (deploy/gunicorn.conf.py
does) and every worker's counts are added up at each scrape."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

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
from sqlalchemy.orm import Session

from service.gradings.models import Approval

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
    route = request.url_rule.rule if request.url_rule else "(no route)"
    if route == "/metrics":
        return
    REQUESTS.labels(request.method, route, str(status)).inc()
    LATENCY.labels(route).observe(seconds)


def transition_fired(name: str) -> None:
    TRANSITIONS.labels(name).inc()


class PendingApprovals(Collector):
    """Read from the database at each scrape, so every process agrees."""

    def __init__(self, factory: Callable[[], Session]) -> None:
        self.factory = factory

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self.factory() as session:
            count = session.scalar(
                select(func.count()).select_from(Approval).where(Approval.state == "pending")
            )
        yield GaugeMetricFamily(
            "grading_approvals_pending", "approvals waiting for a supervisor", value=count or 0
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

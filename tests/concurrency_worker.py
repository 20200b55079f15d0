"""Runs in a separate process: fire one transition from many threads through a real app."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from service.app import create_app
from service.config import Settings


def fire_many(
    database_url: str, token: str, grading_id: int, transition: str, threads: int
) -> list[int]:
    app = create_app(Settings.from_env(database_url=database_url))

    def one(_: int) -> int:
        client = app.test_client()
        response = client.post(
            f"/api/v1/gradings/{grading_id}/transitions",
            json={"transition": transition},
            headers={"Authorization": f"Bearer {token}"},
        )
        return response.status_code

    with ThreadPoolExecutor(max_workers=threads) as pool:
        statuses = list(pool.map(one, range(threads)))
    app.extensions["grading.engine"].dispose()
    return statuses

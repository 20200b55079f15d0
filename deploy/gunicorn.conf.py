"""gunicorn settings: `gunicorn -c deploy/gunicorn.conf.py service.wsgi:app`.

Environment: BIND (default 127.0.0.1:8000), WEB_CONCURRENCY (processes, default 4), THREADS
(per process, default 8: the event feed's long poll holds a thread, not a transaction),
PROMETHEUS_MULTIPROC_DIR (where the processes keep their metrics; emptied at start)."""

import os
import shutil
import tempfile

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
worker_class = "gthread"
threads = int(os.environ.get("THREADS", "8"))
timeout = 60  # longer than a 30 s long poll
graceful_timeout = 30
accesslog = None  # the service logs one JSON line per request itself (with the request id)
errorlog = "-"

# Every process writes its metrics to files here; /metrics adds them up (prometheus-client's
# multiprocess mode). It must be set before a worker imports the service.
METRICS = os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR",
    os.path.join(tempfile.gettempdir(), f"grading-metrics-{os.getuid()}"),
)


def on_starting(server):
    shutil.rmtree(METRICS, ignore_errors=True)
    os.makedirs(METRICS, exist_ok=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def _problem_answer(sock, status_int, reason, mesg):
    """gunicorn's own refusals — a request line or headers too long (414, 431), a request it
    cannot parse (400) — answered as problem+json like every other answer of the service,
    instead of gunicorn's HTML page. gunicorn writes them through util.write_error."""
    import json

    from gunicorn import util

    from service import errors

    known = {
        400: errors.MalformedRequest,
        403: errors.Forbidden,
        414: errors.UriTooLong,
        431: errors.HeaderFieldsTooLarge,
    }
    kind = known.get(status_int) or (
        errors.InternalError if status_int >= 500 else errors.MalformedRequest
    )
    body = json.dumps(
        {
            "type": f"/problems/{kind.type}",
            "title": kind.title,
            "status": status_int,
            "detail": mesg or reason,
        }
    )
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
        f"Content-Type: application/problem+json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    util.write_nonblock(sock, (head + body).encode("latin-1", "replace"))


def post_fork(server, worker):
    from gunicorn import util

    util.write_error = _problem_answer

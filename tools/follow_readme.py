#!/usr/bin/env python3
"""Follow the README's Production section on this machine, as a county's IT person would.

    python3 tools/follow_readme.py --on-this-machine     (as root: `make deploy-check`)

It runs the section's ```sh install blocks in one bash, as written, with two lines changed:
`REPOSITORY=` becomes this checkout and `RELEASE=` the release before the newest migration
(so the upgrade below crosses a migration). `systemctl` is the one command it stands in for
(a container has no systemd): the stand-in starts each unit from its copied unit file — its
User, WorkingDirectory, EnvironmentFile read the way systemd reads it, Environment,
RuntimeDirectory, ExecStartPre and ExecStart — and nginx as nginx starts itself. Then it:

* waits for gunicorn to answer ready, loads the demo through the deployed code (as the service's
  user, with the env file) so there is something to vote on and move;
* fires a transition and casts a ballot over HTTP, opens a ballot page through nginx (HTTPS),
  checks the API stays intranet-only there and that no log holds the ballot codes;
* runs every line of /etc/cron.d/grading as cron would (its user, cron's environment and `%`
  rules): each must exit 0 and print nothing (cron would mail what it prints);
* runs the ```sh restore block (a dump restored into a new database, verified, dropped);
* runs the ```sh upgrade block with RELEASE= this checkout's HEAD, and all of the above again.

It needs a throwaway machine (CI's): it removes and re-creates /srv/grading, /etc/grading,
/var/lib/grading, /var/backups/grading, /etc/ssl/grading, the units, the cron file, the nginx
site and the PostgreSQL database `grading` with roles `grading_owner`, `grading_app` — before
and after the run. Only committed work is installed (it clones the repository)."""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import re
import shlex
import shutil
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
STATE = Path("/run/grading-deploy-check")
LOGS = Path("/var/log/grading-deploy-check")
UNITS = Path("/etc/systemd/system")
CRON_FILE = Path("/etc/cron.d/grading")
MADE = [
    Path("/srv/grading"),
    Path("/etc/grading"),
    Path("/var/lib/grading"),
    Path("/var/backups/grading"),
    Path("/etc/ssl/grading"),
    CRON_FILE,
    UNITS / "grading.service",
    UNITS / "grading-worker.service",
    Path("/etc/nginx/sites-available/grading"),
    Path("/etc/nginx/sites-enabled/grading"),
]
SERVICE = "http://127.0.0.1:8000"
SITE = "dangjian.example.gov.cn"
BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class Failed(Exception):
    """A step of the README did not do what it says."""


def say(text: str) -> None:
    print(f"deploy-check: {text}", flush=True)


# ---------------------------------------------------------------------------------------------
# The README's blocks


def blocks(kind: str) -> list[str]:
    """The ```sh <kind> blocks of the Production section, in order."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("\n## Production")
    end = text.find("\n## ", start + 1)
    section = text[start : end if end > 0 else None]
    found = re.findall(r"^```sh (\w+)\n(.*?)^```$", section, re.M | re.S)
    chosen = [body for word, body in found if word == kind]
    if not chosen:
        raise Failed(f"the README's Production section has no ```sh {kind} block")
    return chosen


def run_blocks(kind: str, release: str) -> None:
    script = "\n".join(blocks(kind))
    script, n = re.subn(r"^RELEASE=\S+", f"RELEASE={release}", script, flags=re.M)
    script, m = re.subn(r"^REPOSITORY=\S+", f"REPOSITORY={ROOT}", script, flags=re.M)
    if kind == "install" and (n, m) != (1, 1):
        raise Failed("the install blocks must set REPOSITORY= and RELEASE= once each")
    say(f"running the README's `sh {kind}` blocks (RELEASE={release[:12]})")
    env = {
        "PATH": f"{STATE / 'bin'}:{BASE_PATH}",
        "HOME": "/root",
        "LANG": "C.UTF-8",
        "DEBIAN_FRONTEND": "noninteractive",  # what apt-get needs without a terminal
    }
    done = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script], cwd="/root", env=env, check=False
    )
    if done.returncode != 0:
        raise Failed(f"the README's `sh {kind}` blocks stopped with exit {done.returncode}")


# ---------------------------------------------------------------------------------------------
# systemd, as far as the units use it


def environment_file(path: Path) -> dict[str, str]:
    """Read as systemd reads an EnvironmentFile: a line is NAME=value to its end; only a line
    that starts with # or ; is a comment; a value in quotes loses them."""
    values: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line[0] in "#;" or "=" not in line:
            continue
        name, value = line.split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[name.strip()] = value
    return values


def unit(name: str) -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for raw in (UNITS / f"{name}.service").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line and line[0] not in "#;[" and "=" in line:
            key, value = line.split("=", 1)
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def unit_environment(settings: dict[str, list[str]], account: pwd.struct_passwd) -> dict[str, str]:
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "HOME": account.pw_dir,
        "USER": account.pw_name,
        "LOGNAME": account.pw_name,
    }
    for file in settings.get("EnvironmentFile", []):
        env.update(environment_file(Path(file.lstrip("-"))))
    for assignments in settings.get("Environment", []):
        for item in shlex.split(assignments):
            name, _, value = item.partition("=")
            env[name] = value
    return env


def _alive(pid: int) -> bool:
    """Running, not a zombie (the stand-in exits; nobody may reap what it started)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _pid(name: str) -> int | None:
    path = STATE / f"{name}.pid"
    if not path.exists():
        return None
    pid = int(path.read_text())
    return pid if _alive(pid) else None


def start(name: str) -> None:
    if name == "nginx":
        if _nginx_running():
            subprocess.run(["nginx", "-s", "reload"], check=True)
        else:
            subprocess.run(["nginx"], check=True)
            (STATE / "nginx.started").touch()
        return
    if _pid(name):
        return
    settings = unit(name)
    account = pwd.getpwnam(settings["User"][0])
    env = unit_environment(settings, account)
    for directory in settings.get("RuntimeDirectory", []):
        made = Path("/run") / directory
        made.mkdir(mode=0o755, exist_ok=True)
        os.chown(made, account.pw_uid, account.pw_gid)
    as_user: dict[str, Any] = {
        "user": account.pw_uid,
        "group": account.pw_gid,
        "extra_groups": [],
        "cwd": settings.get("WorkingDirectory", [account.pw_dir])[0],
        "env": env,
    }
    LOGS.mkdir(parents=True, exist_ok=True)
    log = open(LOGS / f"{name}.log", "ab")  # noqa: SIM115 (the process keeps it)
    for line in settings.get("ExecStartPre", []):
        pre = subprocess.run(shlex.split(line.lstrip("-")), stdout=log, stderr=log, **as_user)
        if pre.returncode and not line.startswith("-"):
            raise Failed(f"{name}: ExecStartPre {line!r} exited {pre.returncode}")
    process = subprocess.Popen(
        shlex.split(settings["ExecStart"][0]),
        stdout=log,
        stderr=log,
        start_new_session=True,
        **as_user,
    )
    (STATE / f"{name}.pid").write_text(str(process.pid))
    time.sleep(2)
    if process.poll() is not None:
        tail = (LOGS / f"{name}.log").read_text(errors="replace")[-2000:]
        raise Failed(f"{name} stopped at once (exit {process.returncode}):\n{tail}")


def stop(name: str) -> None:
    if name == "nginx":
        if (STATE / "nginx.started").exists() and _nginx_running():
            subprocess.run(["nginx", "-s", "quit"], check=False)
        return
    pid = _pid(name)
    if pid is None:
        return
    os.killpg(pid, signal.SIGTERM)
    for _ in range(600):
        if not _alive(pid):
            break
        time.sleep(0.1)
    else:
        os.killpg(pid, signal.SIGKILL)
    (STATE / f"{name}.pid").unlink(missing_ok=True)


def _nginx_running() -> bool:
    pid_file = Path("/run/nginx.pid")
    try:
        return _alive(int(pid_file.read_text().split()[0]))
    except (FileNotFoundError, ValueError, IndexError):
        return False


def systemctl(args: list[str]) -> int:
    """The stand-in: daemon-reload, enable [--now], start, stop, restart, reload, is-active."""
    words = [a for a in args if not a.startswith("-")]
    if not words:
        return 1
    verb, names = words[0], [n.removesuffix(".service") for n in words[1:]]
    if verb == "daemon-reload":
        return 0
    if verb == "enable" and "--now" not in args:
        return 0
    actions = {
        "enable": (start,),
        "start": (start,),
        "stop": (stop,),
        "restart": (stop, start),
        "reload": (start,) if names == ["nginx"] else (stop, start),
    }
    if verb == "is-active":
        alive = all(_nginx_running() if n == "nginx" else _pid(n) for n in names)
        return 0 if alive else 3
    if verb not in actions:
        print(f"systemctl stand-in: {verb} is not something the README uses", file=sys.stderr)
        return 1
    for name in names:
        for action in actions[verb]:
            action(name)
    return 0


# ---------------------------------------------------------------------------------------------
# cron, as it runs /etc/cron.d files


def cron_lines() -> list[tuple[str, str, dict[str, str]]]:
    """(user, command, environment) of each line, with cron's `\\%` → `%`."""
    env: dict[str, str] = {}
    entries = []
    for raw in CRON_FILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        assignment = re.match(r"^([A-Z_]+)=(.*)$", line)
        if assignment:
            env[assignment[1]] = assignment[2]
            continue
        fields = line.split(None, 6)
        if len(fields) < 7:
            raise Failed(f"{CRON_FILE}: not a cron line: {line!r}")
        command = fields[6]
        if re.search(r"(?<!\\)%", command):
            raise Failed(f"{CRON_FILE}: an unescaped % (cron cuts the line there): {line!r}")
        entries.append((fields[5], command.replace("\\%", "%"), dict(env)))
    return entries


def run_cron_lines() -> None:
    for user, command, file_env in cron_lines():
        account = pwd.getpwnam(user)
        env = {
            "SHELL": "/bin/sh",
            "PATH": "/usr/bin:/bin",
            "HOME": account.pw_dir,
            "LOGNAME": user,
            **file_env,
        }
        done = subprocess.run(
            ["/bin/sh", "-c", command],
            user=account.pw_uid,
            group=account.pw_gid,
            extra_groups=[],
            cwd=account.pw_dir,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        printed = (done.stdout + done.stderr).strip()
        if done.returncode or printed:
            raise Failed(
                f"cron line as {user} exited {done.returncode} and would mail:\n{printed}\n"
                f"  the line: {command}"
            )
        say(f"cron line ok (as {user}): {command[:100]}")


# ---------------------------------------------------------------------------------------------
# What a user sees


def http(
    method: str,
    url: str,
    body: object = None,
    token: str | None = None,
    host: str | None = None,
    expect: tuple[int, ...] = (200,),
) -> tuple[int, dict[str, str], bytes]:
    headers = {"Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
        headers["Idempotency-Key"] = str(uuid.uuid4())
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if host:
        headers["Host"] = host
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the README's self-signed stand-in certificate

    class Keep(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context), Keep)
    try:
        with opener.open(request, timeout=30) as answer:
            status, got, payload = answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        status, got, payload = error.code, dict(error.headers), error.read()
    if status not in expect:
        raise Failed(f"{method} {url} answered {status}, not {expect}: {payload[:500]!r}")
    return status, got, payload


def wait_ready() -> None:
    for _ in range(120):
        try:
            http("GET", f"{SERVICE}/api/v1/health/ready")
            return
        except (Failed, OSError):
            time.sleep(0.5)
    raise Failed(f"gunicorn did not answer ready at {SERVICE} within 60 s")


SEED = """
import json
from sqlalchemy import select
from sqlalchemy.orm import Session
from service import demo, demo_examples
from service.ballots.models import BallotCode, BallotSession
from service.config import Settings
from service.db import make_engine
settings = Settings.from_env()
engine = make_engine(settings.database_url)
with Session(engine) as session:
    people = demo.load(session)
    demo_examples.stage(session, box_secret=settings.box_secret)
    session.commit()
    codes = session.scalars(select(BallotCode.code).where(BallotCode.used.is_(False))).all()
    meeting = session.scalars(select(BallotSession.id)).one()
print(json.dumps(
    {"tokens": {p.username: p.token for p in people}, "codes": list(codes), "session": meeting}
))
"""


def as_the_service(*args: str) -> str:
    """A command run as the service's user with its env file, as the units run it."""
    settings = unit("grading")
    account = pwd.getpwnam(settings["User"][0])
    done = subprocess.run(
        args,
        user=account.pw_uid,
        group=account.pw_gid,
        extra_groups=[],
        cwd=settings["WorkingDirectory"][0],
        env=unit_environment(settings, account),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise Failed(f"{args[:3]} as the service exited {done.returncode}: {done.stderr[-2000:]}")
    return done.stdout


def seed() -> dict[str, object]:
    say("loading the demo through the deployed code, as the service's user")
    seeded: dict[str, object] = json.loads(
        as_the_service("/srv/grading/.venv/bin/python", "-c", SEED).strip().splitlines()[-1]
    )
    return seeded


def fire_a_transition(tokens: dict[str, str], nth: int) -> None:
    reviewer = tokens["county.reviewer"]
    _, _, body = http("GET", f"{SERVICE}/api/v1/campaigns", token=reviewer)
    campaign = json.loads(body)["items"][0]["id"]
    url = f"{SERVICE}/api/v1/campaigns/{campaign}/gradings?limit=500"
    _, _, body = http("GET", url, token=reviewer)
    waiting = [
        g
        for g in json.loads(body)["items"]
        if g["organization_code"].startswith("YC-XL-FH-V") and g["state"] == "survey"
    ]
    grading = waiting[nth]
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    entry = {"method": "meeting", "date": today, "problems": ["台账不全"], "suggestions": ["补齐"]}
    http(
        "POST",
        f"{SERVICE}/api/v1/gradings/{grading['id']}/survey-entries",
        entry,
        reviewer,
        expect=(201,),
    )
    _, _, body = http(
        "POST",
        f"{SERVICE}/api/v1/gradings/{grading['id']}/transitions",
        {"transition": "open_self_rating", "reason": "调查摸底已完成"},
        reviewer,
        expect=(200, 201),
    )
    moved = json.loads(body)
    state = moved.get("state") or moved.get("grading", {}).get("state")
    if state == "survey":
        raise Failed(f"the transition answered but the grading stayed in survey: {moved}")
    say(f"transition ok: {grading['organization_code']} survey → {state}")


def cast_a_ballot(code: str) -> None:
    _, _, body = http("GET", f"{SERVICE}/api/v1/ballots/{code}")
    form = json.loads(body)
    answers = [
        {"grading_id": q["grading_id"], "level": q["choices"][0]["code"]} for q in form["questions"]
    ]
    _, _, body = http(
        "POST", f"{SERVICE}/api/v1/ballots", {"code": code, "answers": answers}, expect=(201,)
    )
    if not json.loads(body).get("receipt"):
        raise Failed("a ballot was accepted without a receipt")
    say("ballot ok: cast over the API, a receipt back")


def print_the_cards(tokens: dict[str, str], session: int) -> None:
    """The teller's PDF: the server's Chinese font found (README step 1 installs it)."""
    _, headers, body = http(
        "GET",
        f"{SERVICE}/api/v1/ballot-sessions/{session}/codes?format=pdf",
        token=tokens["county.teller"],
    )
    if not body.startswith(b"%PDF") or headers.get("Content-Type") != "application/pdf":
        raise Failed("the ballot cards did not print as a PDF")
    say(f"cards ok: the teller's PDF ({len(body)} bytes)")


def report_upward(tokens: dict[str, str]) -> None:
    """A township's tables submitted (上报): the newest release's append-only table, written
    by the app role after the upgrade granted it."""
    reviewer = tokens["county.reviewer"]
    _, _, body = http("GET", f"{SERVICE}/api/v1/organizations?limit=500", token=reviewer)
    town = next(o for o in json.loads(body)["items"] if o["code"] == "YC-XL-FH")
    _, _, body = http("GET", f"{SERVICE}/api/v1/campaigns", token=reviewer)
    campaign = json.loads(body)["items"][0]["id"]
    sent = {"organization_id": town["id"], "kind": "grading_tables", "signed_off_by": "书记"}
    http(
        "POST",
        f"{SERVICE}/api/v1/campaigns/{campaign}/report-submissions",
        sent,
        reviewer,
        expect=(201,),
    )
    say("report ok: a township's tables submitted upward")


def through_nginx(code: str) -> None:
    _status, headers, _ = http("GET", f"http://127.0.0.1/b/{code}", host=SITE, expect=(301,))
    if not headers.get("Location", "").startswith(f"https://{SITE}/"):
        raise Failed(f"http:// does not redirect to https:// ({headers.get('Location')})")
    _, headers, page = http("GET", f"https://127.0.0.1/b/{code}", host=SITE)
    if "text/html" not in headers.get("Content-Type", "") or "csrf_token" not in page.decode():
        raise Failed("the ballot page through nginx is not the ballot form")
    http("GET", "https://127.0.0.1/notice", host=SITE)
    for internal in ("/api/v1/campaigns", "/metrics", "/docs", "/openapi.yaml"):
        http("GET", f"https://127.0.0.1{internal}", host=SITE, expect=(403,))
    say("nginx ok: /b and /notice over HTTPS, the API, /docs and /metrics refused outside")


def no_log_holds(codes: list[str]) -> None:
    logs = [LOGS / "grading.log", LOGS / "grading-worker.log", Path("/var/log/nginx/access.log")]
    for log in logs:
        text = log.read_text(errors="replace") if log.exists() else ""
        for code in codes:
            if code in text:
                raise Failed(f"{log} holds the ballot code {code}")
    say("logs ok: no ballot code in gunicorn's, the worker's or nginx's log")


def check(seeded: dict[str, object], round_: int) -> None:
    tokens = seeded["tokens"]
    codes = seeded["codes"]
    assert isinstance(tokens, dict) and isinstance(codes, list)
    fire_a_transition(tokens, round_)
    if round_ == 1:  # the release under test (the one before may predate these)
        print_the_cards(tokens, int(str(seeded["session"])))
        report_upward(tokens)
    cast_a_ballot(codes[2 * round_])
    through_nginx(codes[2 * round_ + 1])
    run_cron_lines()
    if not list(Path("/var/lib/grading/checkpoints").glob("*.json")):
        raise Failed("the checkpoint cron line left no file")
    if not list(Path("/var/backups/grading").glob("*.dump")):
        raise Failed("the backup cron line left no dump")
    run_blocks("restore", "")
    no_log_holds(codes[: 2 * round_ + 2])


# ---------------------------------------------------------------------------------------------
# Releases and the machine


def git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


def releases() -> tuple[str, str]:
    """(the release before the newest migration, HEAD)."""
    head = git("rev-parse", "HEAD")
    newest = sorted(p.name for p in (ROOT / "migrations/versions").glob("0*.py"))[-1]
    added = git(
        "log", "--diff-filter=A", "--format=%H", "-1", "--", f"migrations/versions/{newest}"
    )
    try:
        before = git("rev-parse", f"{added}^") if added else ""
    except subprocess.CalledProcessError:
        before = ""
    if not before:
        say(f"this clone has no history before {newest}: the upgrade goes from HEAD to HEAD")
        return head, head
    try:
        git("cat-file", "-e", f"{before}:deploy/grading.cron")
    except subprocess.CalledProcessError:
        say(f"{before[:12]} (before {newest}) predates this README's deploy files: HEAD to HEAD")
        return head, head
    return before, head


def clean_slate() -> None:
    for name in ("grading", "grading-worker"):
        if (UNITS / f"{name}.service").exists() or (STATE / f"{name}.pid").exists():
            with contextlib.suppress(OSError, Failed):
                stop(name)
    stop("nginx")
    for path in MADE:
        if path.is_symlink() or path.is_file():
            path.unlink()
        elif path.is_dir():
            shutil.rmtree(path)
    if _nginx_running():  # an nginx that was running before: without the site again
        subprocess.run(["nginx", "-s", "reload"], check=False)
    sql = (
        "DROP DATABASE IF EXISTS grading_restored; DROP DATABASE IF EXISTS grading; "
        "DROP ROLE IF EXISTS grading_app; DROP ROLE IF EXISTS grading_owner;"
    )
    for statement in sql.split("; "):
        subprocess.run(
            ["runuser", "-u", "postgres", "--", "psql", "--quiet", "-c", statement],
            check=True,
            capture_output=True,
        )
    shutil.rmtree(STATE, ignore_errors=True)


def prepare() -> None:
    clean_slate()
    shutil.rmtree(LOGS, ignore_errors=True)
    (STATE / "bin").mkdir(parents=True)
    stand_in = STATE / "bin" / "systemctl"
    stand_in.write_text(
        f'#!/bin/sh\nexec {sys.executable} {Path(__file__).resolve()} systemctl "$@"\n'
    )
    stand_in.chmod(0o755)


def main(argv: list[str]) -> int:
    if argv[:1] == ["systemctl"]:
        try:
            return systemctl(argv[1:])
        except Failed as failure:
            print(f"systemctl stand-in: {failure}", file=sys.stderr)
            return 1
    if "--on-this-machine" not in argv or os.geteuid() != 0:
        print(__doc__)
        print("refusing: run as root with --on-this-machine, on a machine you can throw away")
        return 2
    if git("status", "--porcelain", "--untracked-files=no"):
        say("uncommitted changes are not installed: the check installs what is committed")
    before, head = releases()
    started = time.monotonic()
    prepare()
    try:
        run_blocks("install", before)
        wait_ready()
        seeded = seed()
        check(seeded, 0)
        run_blocks("upgrade", head)
        wait_ready()
        check(seeded, 1)
    except Failed as failure:
        say(f"FAILED: {failure}")
        say(f"the units' output is in {LOGS}")
        return 1
    finally:
        if "--keep" not in argv:
            clean_slate()
    say(
        f"the README's Production section works as written: installed {before[:12]}, upgraded "
        f"to {head[:12]}, in {time.monotonic() - started:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

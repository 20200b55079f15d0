"""Command line: `python -m service --help`."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import signal
import socket
import sys
import threading
import urllib.error
from datetime import timedelta
from pathlib import Path
from typing import Any

import click
from marshmallow import ValidationError as MarshmallowError
from sqlalchemy import make_url, select
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.serving import make_server

from service import calendar, demo_examples, migrate
from service import demo as demo_data
from service.accounts import operations as accounts
from service.accounts import passwords
from service.accounts.models import Account, Role
from service.api.routes import reports as http
from service.api.routes.calendar import CalendarIn
from service.api.spec import render_yaml
from service.app import create_app
from service.audit import checkpoints, log, notes, signing, witness, witnesses
from service.audit.roles import app_role_sql
from service.ballots import operations as ballots
from service.campaigns.models import Campaign
from service.catalogue import WORKFLOWS
from service.config import Settings
from service.context import Actor
from service.db import make_engine, make_sessionmaker, normalize_url, unit_of_work
from service.errors import ValidationFailed
from service.events import outbox, webhooks
from service.events.worker import Worker
from service.migrate import alembic_config
from service.organizations import operations as orgs
from service.organizations.models import Organization
from service.reports import formats, queries
from service.standards import operations as standards_ops
from service.standards.models import Standard
from service.standards.reference import reference_domains, reference_standard
from service.verification import inspection
from service.workdays import operations as workdays
from service.workdays.notice import parse as parse_notice

TOKENS_FILE = Path("instance/demo-tokens.json")


def tokens_file(settings: Settings) -> Path:
    """Where `demo` keeps the demo's tokens: one file per database, so a token shown is one
    that database knows (instance/demo-tokens.json for the default SQLite file)."""
    if settings.database_url == Settings.database_url:
        return TOKENS_FILE
    digest = hashlib.sha256(settings.database_url.encode()).hexdigest()[:12]
    return TOKENS_FILE.with_name(f"demo-tokens-{digest}.json")


class _OutFile(click.Path):
    """A file to write, in a folder that exists: a typo in the folder never creates folders."""

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        found = super().convert(value, param, ctx)
        folder = os.path.dirname(os.path.abspath(str(found)))
        if not os.path.isdir(folder):
            self.fail(f"the folder {folder} does not exist (a typo?); create it first", param, ctx)
        return found


OUT_FILE = _OutFile(dir_okay=False, writable=True)


def _settings() -> Settings:
    return Settings.from_env()


def _sessions(settings: Settings, *, bounded: bool = False) -> sessionmaker[Session]:
    """Sessions on DATABASE_URL (`bounded`: with the service's lock and statement timeouts, as
    the worker runs); the engine's connections are closed when the command ends."""
    _refuse_a_missing_file(settings.database_url)
    engine = make_engine(settings.database_url, waits=settings.waits if bounded else None)
    click.get_current_context().call_on_close(engine.dispose)
    return make_sessionmaker(engine)


@click.group(
    help="基层党组织分类定级 service. Configuration comes from environment variables "
    "(DATABASE_URL, SECRET_KEY, ...; see the README)."
)
def cli() -> None:
    outbox.install()


@cli.group(help="Schema migrations (Alembic) on DATABASE_URL.")
def db() -> None:
    pass


@db.command("upgrade", help="Upgrade the schema to REVISION (default: the newest).")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:

    settings = _settings()
    migrate.upgrade(settings.database_url, revision)
    click.echo(f"database at {revision}: {_safe_url(settings.database_url)}")


@db.command("downgrade", help="Downgrade the schema to REVISION ('base' empties it).")
@click.argument("revision")
def db_downgrade(revision: str) -> None:

    migrate.downgrade(_settings().database_url, revision)
    click.echo(f"database at {revision}")


@db.command(
    "check",
    help="Exit 0 when the database answers and is at the code's revision; else say why, exit 2 "
    "(e.g. systemd's ExecStartPre).",
)
def db_check() -> None:
    settings = _settings()
    why = migrate.not_ready(_sessions(settings))
    if why is not None:
        click.echo(f"error: {_safe_url(settings.database_url)}: {why}", err=True)
        sys.exit(2)
    click.echo(f"ready: {_safe_url(settings.database_url)} at revision {migrate.head()}")


@cli.group(help="Secrets that wrap data: rotating SECRET_KEY and BALLOT_BOX_SECRET.")
def keys() -> None:
    pass


@keys.command(
    "rewrap",
    help="After a rotation (the new SECRET_KEY / BALLOT_BOX_SECRET set, the old ones in "
    "SECRET_KEY_PREVIOUS / BALLOT_BOX_SECRET_PREVIOUS): wrap every webhook secret and every "
    "ballot box still to be counted under the new ones. Exit 1 when something no key opens is "
    "left (named); then the previous keys may go.",
)
def keys_rewrap() -> None:
    settings = _settings()
    factory = _sessions(settings)
    with unit_of_work(factory) as session:
        hooks, unreadable = webhooks.rewrap_all(session, settings.secret_keys)
        boxes, locked = ballots.rewrap_boxes(session, settings.box_secrets)
    click.echo(f"wrapped again: {hooks} webhook secret(s), {boxes} ballot box key(s)")
    if unreadable or locked:
        click.echo(
            f"no key opens: webhook subscriptions {unreadable}, ballot sessions {locked} — "
            "put their old key in the *_PREVIOUS setting and run this again"
        )
        sys.exit(1)


@db.command(
    "vacuum-ballots",
    help="Reclaim the old row versions of ballot codes, which still tie each used code to its "
    "ballot's transaction until vacuumed (counting wrote the codes again: docs/decisions/0017). "
    "Run it nightly as the schema owner; autovacuum gets there too, later.",
)
def db_vacuum_ballots() -> None:
    settings = _settings()
    engine = make_engine(settings.database_url)
    postgresql_ = engine.dialect.name == "postgresql"
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ballot_codes" if postgresql_ else "VACUUM")
    engine.dispose()
    click.echo("vacuumed the ballot codes' old row versions")


@db.command("current", help="Print the schema revision of the database.")
def db_current() -> None:
    from alembic import command

    command.current(alembic_config(_settings().database_url))


def _refuse_a_missing_file(url: str) -> None:
    """An SQLite file that is not there is a typo or a missing env file (cron runs without
    one): said, never created empty — only `db upgrade` creates the database."""
    parsed = make_url(normalize_url(url))
    path = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or path in ("", ":memory:") or os.path.exists(path):
        return
    unset = ""
    if not os.environ.get("DATABASE_URL"):
        unset = " (DATABASE_URL is not set: was the env file read? `set -a; . /etc/grading/env`)"
    raise click.ClickException(
        f"there is no database at {path}{unset}; `python -m service db upgrade` creates one"
    )


def _safe_url(url: str) -> str:
    """The URL without its password (as given when it is no URL at all)."""
    try:
        return make_url(normalize_url(url)).render_as_string(hide_password=True)
    except ArgumentError:
        return url


@cli.command(
    help="Load the demo data (a county, a township with 21 branches, a campaign, "
    "one account per role) into an empty database and print the tokens."
)
@click.option(
    "--if-empty", is_flag=True, help="Do nothing (but show saved tokens) when data exists."
)
@click.option("--quiet", is_flag=True, help="Do not print the tokens (serve prints them).")
def demo(if_empty: bool, quiet: bool) -> None:

    settings = _settings()
    factory = _sessions(settings)
    with unit_of_work(factory) as session:
        if not demo_data.is_empty(session):
            if not if_empty:
                raise click.ClickException("the database has data already; demo loads only once")
            click.echo("database has data; demo not loaded again")
            if not quiet:
                _print_tokens(tokens_file(settings))
            return
        people = demo_data.load(session)
        demo_examples.stage(session, box_secret=settings.box_secret)
    saved = tokens_file(settings)
    saved.parent.mkdir(parents=True, exist_ok=True)
    saved.write_text(
        json.dumps(
            [
                {
                    "username": p.username,
                    "role": p.role.value,
                    "organization": p.organization,
                    "token": p.token,
                    "password": p.password,
                }
                for p in people
            ],
            ensure_ascii=False,
            indent=1,
        ),
        encoding="utf-8",
    )
    os.chmod(saved, 0o600)
    click.echo("demo data loaded")
    if not quiet:
        _print_tokens(saved)


def _print_pages(sessions: Any, base: str) -> None:
    """The pages people open, with what the demo has staged on them."""
    with sessions() as session:
        code = demo_examples.unused_code(session)
        campaign = session.scalars(select(Campaign.id).order_by(Campaign.id)).first()
    click.echo(f"  pages: ballot {base}/b" + (f"   a demo ballot: {base}/b/{code}" if code else ""))
    if campaign is not None:
        click.echo(f"         公示 {base}/notice/{campaign}   complaints {base}/complaints/track")
    click.echo(f"  workbench 工作台 {base}/w (sign in with a demo account and its password)")


def _print_tokens(saved: Path) -> None:
    if not saved.exists():
        return
    people = json.loads(saved.read_text(encoding="utf-8"))
    click.echo(f"demo accounts (tokens saved in {saved}):")
    for p in people:
        click.echo(f"  {p['username']:<18} {p['role']:<10} {p['organization']:<16} {p['token']}")
    if people and people[0].get("password"):
        click.echo(f"  workbench (/w) password of every demo account: {people[0]['password']}")


@cli.command(
    "password", help="Set an account's password for the workbench's sign-in (read from stdin)."
)
@click.option("--username", required=True)
def set_password(username: str) -> None:
    settings = _settings()
    factory = _sessions(settings)
    typed = sys.stdin.readline().rstrip("\r\n")
    with unit_of_work(factory) as session:
        account = session.scalar(select(Account).where(Account.username == username))
        if account is None:
            raise click.ClickException(f"no account {username!r}")
        try:
            passwords.set_password(session, Actor.system("cli"), account, typed)
        except ValidationFailed as refused:
            raise click.ClickException(f"{refused.detail}: {refused.errors}") from refused
    click.echo(f"password of {username} set")


@cli.command(help="Create the root organization and its first admin (a new installation).")
@click.option("--code", required=True)
@click.option("--name", required=True)
@click.option("--admin", "username", required=True, help="username of the first administrator")
def bootstrap(code: str, name: str, username: str) -> None:

    settings = _settings()
    factory = _sessions(settings)
    actor = Actor.system("bootstrap")
    with unit_of_work(factory) as session:
        if session.query(Organization.id).filter(Organization.parent_id.is_(None)).first():
            raise click.ClickException("a root organization exists already")
        root = orgs.create_organization(
            session, actor, None, {"code": code, "name": name, "kind": "committee"}
        )
        account = accounts.create_account(
            session, actor, username=username, display_name=username, organization=root
        )
        accounts.grant_role(session, actor, account, Role.ADMIN, root)
        _, token = accounts.issue_token(
            session, actor, account, name="bootstrap", lifetime=settings.token_lifetime
        )
    click.echo(f"root {code} created; admin {username} token (shown once): {token}")


@cli.command("token", help="Issue an API token for an existing account (prints it once).")
@click.option("--username", required=True)
@click.option("--name", default="cli")
@click.option(
    "--days", type=int, default=None, help="lifetime in days (default TOKEN_LIFETIME_DAYS)"
)
def token(username: str, name: str, days: int | None) -> None:
    settings = _settings()
    factory = _sessions(settings)
    with unit_of_work(factory) as session:
        account = session.scalar(select(Account).where(Account.username == username))
        if account is None:
            raise click.ClickException(f"no account {username!r}")
        lifetime = timedelta(days=days) if days else settings.token_lifetime
        _, plain = accounts.issue_token(
            session, Actor.system("cli"), account, name=name, lifetime=lifetime
        )
    click.echo(plain)


@cli.command(help="Serve the API with the development server (production: gunicorn, see README).")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=8000, type=int)
@click.option(
    "--worker/--no-worker",
    default=True,
    help="also run the worker (webhooks, timers, the audit integrator) in a thread",
)
def serve(host: str, port: int, worker: bool) -> None:

    settings = _settings()
    app = create_app(settings)
    base = f"http://{host}:{port}"
    # bound before anything is announced: the address printed is one that answers
    listener = _bound(host, port)
    server = make_server(host, port, app, threaded=True, fd=listener.fileno())
    if worker:
        background = Worker(settings, app.extensions["grading.sessions"], base_url=base)
        threading.Thread(
            target=background.run, args=(threading.Event(),), daemon=True, name="worker"
        ).start()
    click.echo(
        f"\n基层党组织分类定级 serving on {base}\n"
        f"  API docs: {base}/docs   spec: {base}/openapi.yaml"
    )
    _print_pages(app.extensions["grading.sessions"], settings.public_base_url or base)
    saved = tokens_file(settings)
    _print_tokens(saved)
    if saved.exists():
        admin = json.loads(saved.read_text(encoding="utf-8"))[0]["token"]
        click.echo(f"\ntry:\n  curl -H 'Authorization: Bearer {admin}' {base}/api/v1/campaigns\n")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("stopped")
    finally:
        server.server_close()
        listener.close()


def _bound(host: str, port: int) -> socket.socket:
    """A listening socket on host:port, or one line saying why not (werkzeug would print two
    and exit on its own)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        raise click.ClickException(
            f"cannot serve on {host}:{port}: {exc.strerror or exc} "
            f"(another server there? make run PORT={port + 1})"
        ) from exc
    return sock


@cli.command(
    "worker",
    help="Deliver webhooks, fire timers (due soon, overdue, notice ended; e-mail when SMTP_HOST "
    "is set), integrate the audit log, sign hourly checkpoints, purge old keys. Run one or "
    "several (PostgreSQL); SIGTERM stops it after the current step.",
)
@click.option("--concurrency", default=8, type=int, help="webhook requests in parallel")
def worker_command(concurrency: int) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    settings = _settings()
    factory = _sessions(settings, bounded=True)
    calendar.configure(settings.holidays, settings.extra_workdays, settings.timezone)
    Worker(settings, factory, concurrency=concurrency).run(stop)


@cli.command(help="Print openapi.yaml as generated from the routes and schemas.")
def openapi() -> None:

    sys.stdout.write(render_yaml())


@cli.group(help="The audit trail: verify the hash chains, sign checkpoints.")
def audit() -> None:
    pass


@audit.command(
    "verify",
    help="Recompute every chain and the Merkle log, and hold them to every checkpoint the "
    "service has signed and kept, to the checkpoint files in AUDIT_CHECKPOINT_DIR and any "
    "given, and every witness cosignature to the trusted witness keys (AUDIT_WITNESSES, or the "
    "approved registry). Events older than 3 × AUDIT_CHECKPOINT_MINUTES that no cosigned "
    "checkpoint or kept file covers make it UNANCHORED. Exit 0 when intact, 1 when not, naming "
    "the first bad event or checkpoint and the kind of damage.",
)
@click.option(
    "--checkpoint",
    "checkpoint_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="a checkpoint saved earlier: the signed note of GET /api/v1/audit/checkpoints/latest, "
    "or the JSON of POST /api/v1/audit/checkpoints (repeatable)",
)
@click.option(
    "--state/--no-state",
    "with_state",
    default=True,
    help="replay each grading's story from the trail and compare it with its row (default on)",
)
def audit_verify(checkpoint_files: tuple[str, ...], with_state: bool) -> None:
    settings = _settings()
    key = signing.load_private_key(settings.audit_signing_key, settings.secret_key)
    files = [Path(name) for name in checkpoint_files]
    if settings.audit_checkpoint_dir:
        kept = Path(settings.audit_checkpoint_dir)
        files += sorted(p for p in kept.iterdir() if p.suffix in (".json", ".note"))
    saved = [inspection.Saved(str(p), p.read_text(encoding="utf-8")) for p in files]
    factory = _sessions(settings)
    with factory() as session:
        try:
            report = inspection.check(
                session,
                key,
                settings.audit_log_origin,
                saved,
                with_state=with_state,
                witness_keys=witnesses.pinned(settings.audit_witnesses)
                if settings.audit_witnesses
                else None,
                anchor_age=timedelta(minutes=3 * settings.audit_checkpoint_minutes),
            )
        except (checkpoints.BadCheckpoint, notes.BadNote) as exc:
            click.echo(f"DAMAGED: a saved checkpoint does not verify: {exc}")
            sys.exit(1)
    click.echo(report.summary())
    for damage in report.damage[1:]:
        click.echo(
            f"  also: {damage.kind} at event {damage.event_id} ({damage.chain_key} "
            f"#{damage.seq}): {damage.detail}"
        )
    if not report.intact and not settings.audit_signing_key:
        # the service signs with its key; checked with the development one, every checkpoint
        # looks forged — say which key was used before anyone calls the inspectors
        click.echo(
            "  note: AUDIT_SIGNING_KEY is not set here, so checkpoints were checked with the "
            "development key; run with the service's env file (/etc/grading/env)"
        )
    sys.exit(0 if report.intact else 1)


@audit.command(
    "witness",
    help="Check the log at URL like an independent witness and cosign its latest checkpoint: "
    "the log's signature, and a consistency proof from the last checkpoint accepted (kept in "
    "--state). Exit 0 when cosigned, 2 (loudly) when the log went back, forked or (with "
    "--full) its events or tables were changed.",
)
@click.argument("url")
@click.option("--state", "state_dir", required=True, type=click.Path(file_okay=False))
@click.option("--name", required=True, help="the witness's name, e.g. jiwei.example/witness")
@click.option("--token", envvar="WITNESS_TOKEN", help="an inspector's API token (WITNESS_TOKEN)")
@click.option("--log-key", help="the log's verifier key (default: pinned on the first run)")
@click.option(
    "--full",
    is_flag=True,
    help="also download the whole trail and check every event, chain and the signed root, and "
    "the service's own verify (the token must be an inspector's at the root)",
)
def audit_witness(
    url: str, state_dir: str, name: str, token: str | None, log_key: str | None, full: bool
) -> None:
    try:
        outcome = witness.run(Path(state_dir), url.rstrip("/"), name, token, log_key, full=full)
    except witness.Refused as exc:
        click.echo(f"WITNESS REFUSES: {exc}", err=True)
        sys.exit(2)
    except witness.CannotCheck as exc:  # nothing is known about the log: exit 1, not 2
        click.echo(f"witness could not check: {exc}", err=True)
        sys.exit(1)
    except (OSError, ValueError) as exc:  # the network, the answer (URLError is an OSError)
        click.echo(f"witness could not check: {witness.trouble(exc, url)}", err=True)
        if isinstance(exc, urllib.error.HTTPError):
            exc.close()  # the answer's connection
        sys.exit(1)
    since = f" (extends {outcome.previous})" if outcome.previous is not None else " (first)"
    done = "cosigned" if outcome.cosigned else "already cosigned"
    click.echo(f"{done} the checkpoint of {outcome.size} events{since}")


@audit.command(
    "witness-key",
    help="Print this witness's verifier key (made in --state on first use): an admin at the "
    "root registers it, a second approves it, and the operator may pin it in AUDIT_WITNESSES.",
)
@click.option("--state", "state_dir", required=True, type=click.Path(file_okay=False))
@click.option("--name", required=True, help="the witness's name, e.g. jiwei.example/witness")
def audit_witness_key(state_dir: str, name: str) -> None:
    click.echo(witness.verifier_key_of(Path(state_dir), name))


@audit.command(
    "integrate",
    help="Give committed audit events their leaves in the Merkle log (run it from cron; "
    "checkpoints integrate too).",
)
def audit_integrate() -> None:
    settings = _settings()
    factory = _sessions(settings)
    with unit_of_work(factory) as session:
        head = log.integrate(session)
    click.echo(f"the log has {head.size} events; root {head.root.hex()}")


@audit.command(
    "checkpoint",
    help="Sign the Merkle log's tree head (and the chains' heads); run it from cron, e.g. "
    "hourly. Prints the JSON an inspector keeps; with --out writes it to that file instead and "
    "prints nothing (cron mails only trouble).",
)
@click.option("--out", type=OUT_FILE, help="write the checkpoint to this file, not to stdout")
def audit_checkpoint(out: str | None) -> None:
    settings = _settings()
    key = signing.load_private_key(settings.audit_signing_key, settings.secret_key)
    factory = _sessions(settings)
    with unit_of_work(factory) as session:
        exported = checkpoints.sign_all(
            session, Actor.system("checkpoint"), key, settings.audit_log_origin
        )
    text = json.dumps(exported, ensure_ascii=False, indent=1)
    if out:
        Path(out).write_text(text, encoding="utf-8")
    else:
        click.echo(text)


@db.command(
    "app-role-sql",
    help="Print the SQL that creates the application's PostgreSQL role: "
    "full use of the tables, but only INSERT and SELECT on the audit "
    "trail.",
)
@click.option("--role", default="grading_app")
def db_app_role_sql(role: str) -> None:

    click.echo(app_role_sql(role))


@cli.command(
    help="Write a report (summary, detail, poor-list, poor-status, progress) as csv, xlsx or json."
)
@click.argument(
    "kind",
    type=click.Choice(list(formats.KIND_LABELS)),
)
@click.option("--campaign", "campaign_id", type=int, required=True)
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx", "json"]), default="xlsx")
@click.option("--within", type=int, help="an organization id (default: the campaign's committee)")
@click.option("--provisional", is_flag=True, help="count levels still under publicity")
@click.option("--out", type=OUT_FILE, required=True)
def report(
    kind: str, campaign_id: int, fmt: str, within: int | None, provisional: bool, out: str
) -> None:

    settings = _settings()
    factory = _sessions(settings)
    with factory() as session:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None:
            raise click.ClickException(f"no campaign {campaign_id}")
        root = session.get(Organization, within or campaign.organization_id)
        if root is None:
            raise click.ClickException(f"no organization {within}")
        if kind == "summary":
            data: object = queries.summary(session, campaign, root, provisional)
            header, rows = formats.summary_table(data)  # type: ignore[arg-type]
        elif kind == "progress":
            data = queries.progress(session, campaign, root)
            header, rows = formats.progress_table(data)
        elif kind in http.ONE_TABLE:
            data, header, rows = http.one_table(session, kind, campaign, root, provisional)
        else:
            columns = {
                "detail": queries.detail_columns(session, campaign),
                "poor-list": http.POOR_COLUMNS,
                "poor-status": http.STATUS_COLUMNS,
            }[kind]
            source = {
                "detail": lambda: list(queries.detail_rows(session, campaign, root, provisional)),
                "poor-list": lambda: queries.poor_list(session, campaign, root, provisional),
                "poor-status": lambda: queries.poor_status(session, campaign, root, provisional),
            }
            data = source[kind]()
            header = [h for _, h in columns]
            rows = [[item.get(k) for k, _ in columns] for item in data]
        if fmt == "json":
            Path(out).write_text(
                json.dumps(data, ensure_ascii=False, default=str, indent=1), encoding="utf-8"
            )
        elif fmt == "csv":
            Path(out).write_text("".join(formats.csv_stream(header, rows)), encoding="utf-8")
        else:
            Path(out).write_bytes(
                formats.report_xlsx(kind, campaign, root, header, rows, provisional=provisional)
            )
    click.echo(f"wrote {out}")


@cli.group("calendar", help="The working-day calendar: each year's holidays and 调休 as data.")
def calendar_group() -> None:
    pass


@calendar_group.command(
    "import",
    help="Enter a year's holidays and 调休 from FILE: the State Council's notice as published "
    "(text, one numbered line per holiday) or the JSON body of PUT /api/v1/calendar/YEAR with "
    "its year. Replaces what was entered for the year, audited; every 公示 end estimated over "
    "the year is corrected. --dry-run prints what was read and writes nothing.",
)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--year", type=int, help="the year, when the text has no title to take it from")
@click.option("--dry-run", is_flag=True)
def calendar_import(file: Path, year: int | None, dry_run: bool) -> None:
    try:
        read = _calendar_file(file, year)
    except (ValueError, KeyError, TypeError, MarshmallowError) as exc:
        raise click.ClickException(f"{file}: {exc}") from exc
    for kind in ("holidays", "workdays"):
        days = ", ".join(f"{d['date']} {d.get('name') or ''}".strip() for d in read[kind])
        click.echo(f"{read['year']} {kind} ({len(read[kind])}): {days or '—'}")
    for skipped in read.get("left_out", []):
        click.echo(f"left out (another year: enter that year for it): {skipped}")
    if dry_run:
        return
    settings = _settings()
    factory = _sessions(settings)
    with unit_of_work(factory) as session:
        root = session.scalar(select(Organization.id).where(Organization.parent_id.is_(None)))
        try:
            corrected = workdays.enter(
                session,
                Actor.system("cli"),
                read["year"],
                read["notice"],
                read["holidays"],
                read["workdays"],
                root,
            )
        except ValidationFailed as exc:
            raise click.ClickException(f"{file}: {exc} {exc.errors}") from exc
    fixed = ", ".join(map(str, corrected)) or "none"
    click.echo(f"entered {read['year']}: {read['notice']}; 公示 ends corrected: {fixed}")


def _calendar_file(file: Path, year: int | None) -> dict[str, Any]:
    text = file.read_text(encoding="utf-8-sig")
    if not text.lstrip().startswith("{"):
        notice = parse_notice(text, year)
        return {
            "year": notice.year,
            "notice": notice.title,
            "holidays": notice.holidays,
            "workdays": notice.workdays,
            "left_out": notice.left_out,
        }
    body = json.loads(text)
    loaded = CalendarIn().load({k: v for k, v in body.items() if k != "year"})
    return {"year": int(year or body["year"]), **loaded}


@cli.group("standards", help="Grading standards (分类定级参考标准).")
def standards_group() -> None:
    pass


@standards_group.command(
    "reference",
    help="Publish each 领域's reference standard shipped with the service (附件1: 各领域基层党组织"
    "分类定级参考标准 — seven indicators, 工作业绩 refined per 领域) for every 领域 that has no "
    "standard yet, or only for DOMAIN…; audited. --dry-run lists what would be published.",
)
@click.argument("domains", nargs=-1)
@click.option("--dry-run", is_flag=True)
def standards_reference(domains: tuple[str, ...], dry_run: bool) -> None:
    unknown = sorted(set(domains) - set(reference_domains()))
    if unknown:
        known = ", ".join(reference_domains())
        raise click.ClickException(f"no reference standard for {', '.join(unknown)}; {known}")
    settings = _settings()
    factory = _sessions(settings)
    with unit_of_work(factory) as session:
        present = set(session.scalars(select(Standard.domain)))
        wanted = list(domains) or [d for d in reference_domains() if d not in present]
        for domain in wanted:
            content = reference_standard(domain)
            weights = " ".join(f"{i['name']}{i['max_points']}" for i in content["indicators"])
            if dry_run:
                click.echo(f"{domain}: would publish {content['name']} ({weights})")
                continue
            made = standards_ops.create_standard(session, Actor.system("cli"), content)
            click.echo(f"{domain}: published {content['name']} as version {made.version}")
        if dry_run:
            session.rollback()
    if not wanted:
        click.echo("every 领域 has a standard already; name one to publish its reference again")


@cli.group(help="State machines.")
def workflow() -> None:
    pass


@workflow.command("diagram", help="Print a workflow as a Mermaid state diagram.")
@click.argument("name", default="grading")
def workflow_diagram(name: str) -> None:

    if name not in WORKFLOWS:
        raise click.ClickException(f"no workflow {name!r}; known: {', '.join(sorted(WORKFLOWS))}")
    click.echo(WORKFLOWS[name].mermaid())


def database_trouble(exc: BaseException, url: str) -> str:
    """One line: what is wrong with the database and how to fix it."""
    shown = _safe_url(url)
    if isinstance(exc, ArgumentError | ModuleNotFoundError):
        return (
            f"DATABASE_URL {shown!r} is not a database URL this service can use ({exc}); e.g. "
            "postgresql+psycopg://user@host/db or sqlite:///instance/grading.db"
        )
    said = " ".join(str(getattr(exc, "orig", exc)).split())
    text = said.lower()
    missing = re.search(r'(database|role) "([^"]+)" does not exist', said)
    if missing:
        kind, name = missing.groups()
        how = "createdb -O grading_owner " if kind == "database" else "CREATE ROLE … LOGIN "
        return (
            f"the {kind} {name!r} does not exist on the server of {shown}: create it "
            f"({how}{name}; README, Production), then run `python -m service db upgrade`"
        )
    if "password authentication failed" in text or "no password supplied" in text:
        return f"the database {shown} refused the password: check DATABASE_URL's user and password"
    if "alembic_version" in text or "no such table" in text or "does not exist" in text:
        return f"the database {shown} is not migrated: run `python -m service db upgrade`"
    reason = said[:200]
    return f"cannot reach the database {shown}: {reason} — is it running, is DATABASE_URL right?"


def main() -> None:
    try:
        cli()
    except (DBAPIError, ArgumentError, ModuleNotFoundError) as exc:
        url = os.environ.get("DATABASE_URL") or Settings.database_url
        click.echo(f"error: {database_trouble(exc, url)}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()

"""Configuration, read once from environment variables (documented in the README)."""

from __future__ import annotations

import ipaddress
import json
import os
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import make_url
from sqlalchemy.exc import ArgumentError

from service.audit import notes, signing
from service.db import normalize_url

# In an env file a value runs to the end of its line: systemd's EnvironmentFile keeps a " # note"
# or a second "NAME=value" on the line as part of the value, while a shell reading the same file
# (the cron lines) drops or splits them. Such a value is refused, naming its setting.
_MISREAD = re.compile(r"\s(#.*|[A-Z][A-Z0-9_]*=.*)$")
_FREE_FORM = ("SMTP_PASSWORD",)  # a password may hold anything


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    if value is None or name in _FREE_FORM:
        return value
    misread = _MISREAD.search(value.strip())
    if misread:
        raise SystemExit(
            f"configuration: {name} ends with {misread.group(0).strip()!r}: one setting per "
            "line and nothing after its value — no comment, no second NAME=value (an env file "
            "is read to the end of the line)"
        )
    return value


def _int(name: str, default: int) -> int:
    raw = _raw(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SystemExit(f"configuration: {name} must be an integer, got {raw!r}") from exc


def _seconds(name: str, default: float) -> float:
    raw = _raw(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise SystemExit(f"configuration: {name} must be a number of seconds, got {raw!r}") from exc
    if value <= 0:
        raise SystemExit(f"configuration: {name} must be more than 0, got {raw!r}")
    return value


def _dates(raw: str, name: str = "HOLIDAYS") -> frozenset[date]:
    """HOLIDAYS, EXTRA_WORKDAYS: ISO dates separated by commas or spaces, or a file of them."""
    if raw and os.path.isfile(raw):
        with open(raw, encoding="utf-8") as handle:
            raw = handle.read()
    try:
        return frozenset(date.fromisoformat(p) for p in raw.replace(",", " ").split() if p)
    except ValueError as exc:
        raise SystemExit(f"configuration: {name} has a bad date: {exc}") from exc


def _timezone(raw: str) -> str:
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SystemExit(
            f"configuration: TIMEZONE {raw!r} is not a time zone (e.g. Asia/Shanghai)"
        ) from exc
    return raw


def _origin(raw: str) -> str:
    """A log's origin is its checkpoints' first line and its key's name: printable ASCII, no
    spaces and no '+' (the signed-note rules)."""
    if not re.fullmatch(r"[!-*,-~]{1,200}", raw):
        raise SystemExit(
            f"configuration: AUDIT_LOG_ORIGIN {raw!r} must be ASCII without spaces or '+'"
        )
    return raw


def _public_url(raw: str) -> str | None:
    """PUBLIC_BASE_URL: an absolute http(s) address without query or fragment, or unset."""
    if not raw.strip():
        return None
    parts = urlsplit(raw.strip())
    bad = parts.scheme not in ("http", "https") or not parts.hostname or parts.query
    if bad or parts.fragment or any(c.isspace() for c in raw.strip()):
        raise SystemExit(
            f"configuration: PUBLIC_BASE_URL must look like https://dangjian.example.gov.cn, "
            f"not {raw!r}"
        )
    return raw.strip().rstrip("/")


def _signing_key(raw: str) -> str | None:
    """AUDIT_SIGNING_KEY: an Ed25519 private key in PEM, or the path of one this user can read."""
    if not raw.strip():
        return None
    text, where = raw, "AUDIT_SIGNING_KEY"
    if not raw.lstrip().startswith("-----BEGIN"):
        where = f"AUDIT_SIGNING_KEY {raw!r}"
        if not os.path.isfile(raw):
            raise SystemExit(
                f"configuration: {where} is no file (the key's PEM text or its path; make one "
                "with `openssl genpkey -algorithm ed25519 -out FILE`)"
            )
        try:
            with open(raw, encoding="utf-8") as handle:
                text = handle.read()
        except PermissionError as exc:
            raise SystemExit(
                f"configuration: {where} cannot be read by this user: it belongs to the "
                "service's user (chown grading:grading, chmod 0400)"
            ) from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise SystemExit(f"configuration: {where} cannot be read: {exc}") from exc
    try:
        signing.parse_private_key(text)
    except ValueError as exc:
        raise SystemExit(f"configuration: {where} {exc}") from exc
    return raw


def _database_url(raw: str) -> str:
    """DATABASE_URL: a PostgreSQL or SQLite URL; an SQLite file's folder must exist (a typo never
    makes folders), except the default instance/ that `make run` uses."""
    try:
        url = make_url(normalize_url(raw.strip()))
    except ArgumentError as exc:
        raise SystemExit(
            f"configuration: DATABASE_URL {raw!r} is not a database URL (e.g. "
            "postgresql+psycopg://grading_app:PASSWORD@127.0.0.1/grading)"
        ) from exc
    if url.get_backend_name() not in ("postgresql", "sqlite"):
        raise SystemExit(
            f"configuration: DATABASE_URL must be postgresql://… or sqlite:///…, not "
            f"{url.get_backend_name()!r}"
        )
    path = url.database or ""
    if url.get_backend_name() == "sqlite" and path and path != ":memory:":
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder) and raw.strip() != Settings.database_url:
            raise SystemExit(
                f"configuration: DATABASE_URL names an SQLite file in {folder!r}, which does not "
                "exist (a typo?); create the folder first"
            )
    return raw.strip()


def _font(raw: str) -> str | None:
    """PDF_FONT: a TrueType/OpenType font (or collection, with #face) that holds Chinese."""
    if not raw.strip():
        return None
    path, _, face = raw.strip().partition("#")
    if not os.path.isfile(path) or (face and not face.isdigit()):
        raise SystemExit(
            f"configuration: PDF_FONT {raw!r} must be a font file on this server, optionally "
            "with #N for a face in a collection (e.g. /usr/share/fonts/opentype/noto/"
            "NotoSansCJK-Regular.ttc#2)"
        )
    return raw.strip()


@dataclass(frozen=True)
class OidcProvider:
    """An identity provider whose access tokens (JWT) the API accepts (service.accounts.oidc)."""

    issuer: str
    audience: str
    jwks_uri: str
    claim: str = "preferred_username"  # names the account (its username)


def _oidc(raw: str) -> tuple[OidcProvider, ...]:
    """OIDC_PROVIDERS: a JSON list of {issuer, audience, jwks_uri[, claim]}."""
    if not raw.strip():
        return ()
    try:
        found = tuple(
            OidcProvider(
                str(item["issuer"]),
                str(item["audience"]),
                str(item["jwks_uri"]),
                str(item.get("claim", "preferred_username")),
            )
            for item in json.loads(raw)
        )
    except (ValueError, TypeError, KeyError) as exc:
        raise SystemExit(
            "configuration: OIDC_PROVIDERS must be a JSON list of objects with issuer, "
            f"audience and jwks_uri ({exc})"
        ) from exc
    for provider in found:
        parts = urlsplit(provider.jwks_uri)
        local = parts.hostname in ("127.0.0.1", "::1", "localhost")
        if parts.scheme != "https" and not (parts.scheme == "http" and local):
            raise SystemExit(
                f"configuration: OIDC_PROVIDERS' jwks_uri must be https (the keys that sign "
                f"every sign-in must not travel in the clear), not {provider.jwks_uri!r}"
            )
    return found


def _flag(name: str) -> bool:
    raw = (_raw(name) or "").strip().lower()
    if raw not in ("", "0", "1", "true", "false", "yes", "no"):
        raise SystemExit(f"configuration: {name} must be 1 or 0, not {raw!r}")
    return raw in ("1", "true", "yes")


def _witness_keys(raw: str) -> tuple[str, ...]:
    """AUDIT_WITNESSES: witnesses' verifier keys (name+hash+key), separated by commas, spaces or
    lines, or a file of them; each must parse."""
    if raw and os.path.isfile(raw):
        with open(raw, encoding="utf-8") as handle:
            raw = handle.read()
    found = tuple(k for k in raw.replace(",", " ").split() if k)
    for key in found:
        try:
            notes.parse_verifier_key(key)
        except notes.BadNote as exc:
            raise SystemExit(
                f"configuration: AUDIT_WITNESSES takes witnesses' verifier keys "
                f"(name+hash+key, as `audit witness-key` prints them), not {key!r}: {exc}"
            ) from exc
    return found


def _list(raw: str) -> tuple[str, ...]:
    """A list of secrets: separated by commas or spaces."""
    return tuple(p for p in raw.replace(",", " ").split() if p)


def _cidrs(name: str, raw: str) -> tuple[str, ...]:
    found = _list(raw)
    for text in found:
        try:
            ipaddress.ip_network(text, strict=False)
        except ValueError as exc:
            raise SystemExit(f"configuration: {name} takes networks (CIDR), not {text!r}") from exc
    return found


def _directory(name: str) -> str | None:
    raw = (_raw(name) or "").strip()
    if raw and not os.path.isdir(raw):
        raise SystemExit(f"configuration: {name} {raw!r} is not a directory")
    return raw or None


def _origins(raw: str) -> tuple[str, ...]:
    """CORS_ORIGINS: exact origins (scheme://host[:port]) separated by commas or spaces."""
    found = tuple(o.rstrip("/") for o in raw.replace(",", " ").split() if o)
    for origin in found:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path:
            raise SystemExit(
                f"configuration: CORS_ORIGINS takes origins like https://portal.example.gov.cn, "
                f"not {origin!r}"
            )
    return found


def _networks(raw: str) -> tuple[str, ...]:
    """TRUSTED_PROXY_ADDRESSES: addresses or networks (CIDR) separated by commas or spaces."""
    found = tuple(raw.replace(",", " ").split())
    for item in found:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError as exc:
            raise SystemExit(
                f"configuration: TRUSTED_PROXY_ADDRESSES takes addresses or networks like "
                f"10.0.0.5 or 10.0.0.0/24, not {item!r}"
            ) from exc
    return found


def _choice(name: str, raw: str, allowed: tuple[str, ...]) -> str:
    if raw not in allowed:
        raise SystemExit(f"configuration: {name} must be one of {', '.join(allowed)}, not {raw!r}")
    return raw


def _smtp_tls(raw: str) -> str:
    return _choice("SMTP_TLS", raw, ("starttls", "ssl", "none"))


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///instance/grading.db"
    secret_key: str = "dev-only-secret-change-me"
    token_lifetime: timedelta = timedelta(days=90)
    max_body_bytes: int = 1_048_576
    max_import_bytes: int = 10_485_760
    max_import_rows: int = 50_000
    # evidence files (佐证材料): kept here, shared by every process serving the API
    evidence_dir: str = "instance/evidence"
    evidence_max_bytes: int = 20_971_520
    evidence_scan_command: str | None = None
    page_size_default: int = 50
    page_size_max: int = 500
    # Where people open the pages: the QR codes and printed links use it. None: the address
    # the request came to (the one the server listens on, or the proxy's with TRUSTED_PROXIES).
    public_base_url: str | None = None
    trusted_proxies: int = 0
    # Whose X-Forwarded-* headers are believed: a request from any other address is taken as
    # it came, so a client that reaches the server directly cannot choose its own address.
    trusted_proxy_addresses: tuple[str, ...] = ("127.0.0.1", "::1")
    audit_signing_key: str | None = None
    audit_log_origin: str = "grading-service/audit-log"  # names the log in its checkpoints
    # Anchors `audit verify` trusts beyond the server's own signature: witnesses' keys pinned by
    # the operator, and a directory of checkpoint files kept off the database's machine.
    audit_witnesses: tuple[str, ...] = ()
    # Key rings: what was SECRET_KEY / BALLOT_BOX_SECRET before a rotation, still able to unwrap
    # what it wrapped (webhook secrets are wrapped again under the current key as they are used).
    secret_key_previous: tuple[str, ...] = ()
    ballot_box_secret_previous: tuple[str, ...] = ()
    # where webhooks may go besides public addresses: an intranet portal's networks (CIDR)
    webhook_allowed_networks: tuple[str, ...] = ()
    audit_checkpoint_dir: str | None = None
    audit_checkpoint_minutes: int = 10  # a checkpoint at least this often while events arrive
    holidays: frozenset[date] = frozenset()  # days off beyond the national calendar
    extra_workdays: frozenset[date] = frozenset()  # working days it does not know
    timezone: str = "Asia/Shanghai"  # where calendar dates are taken
    complaint_limit: int = 5  # complaints per client …
    complaint_window_seconds: int = 3600  # … per window
    # through the page, each with a form opened there: a village office shares one address
    complaint_page_limit: int = 30
    ballot_limit: int = 1000  # ballot form and submission requests per client …
    ballot_window_seconds: int = 600  # … per window (per worker process)
    ballot_box_secret: str | None = None  # wraps each ballot box's private key
    log_format: str = "json"  # json | text
    oidc_providers: tuple[OidcProvider, ...] = ()  # issuers whose access tokens count
    require_if_match: bool = False  # writes to versioned resources without If-Match: 428
    cors_origins: tuple[str, ...] = ()  # browser portals allowed to call the API
    db_lock_timeout_seconds: float = 5.0  # a request waits this long for a lock, then 503
    db_statement_timeout_seconds: float = 50.0  # a statement runs this long at most, then 503
    worker_lease_seconds: int = 60  # a delivery a worker took and did not finish goes again
    webhook_timeout_seconds: int = 10
    idempotency_hours: int = 24  # how long an Idempotency-Key is remembered
    smtp_host: str | None = None  # reminders by e-mail: off unless set
    smtp_port: int = 25
    smtp_tls: str = "starttls"  # starttls | ssl | none
    smtp_sender: str = "noreply@localhost"
    smtp_user: str | None = None
    smtp_password: str | None = None
    pdf_font: str | None = None  # a CJK font file (path[#face]) for printed PDFs
    extra: dict[str, str] = field(default_factory=dict)

    def unsafe_for_production(self) -> list[str]:
        """What a production server must not run with."""
        found = []
        if self.secret_key == Settings.secret_key or len(self.secret_key) < 16:
            found.append("SECRET_KEY is the development default or shorter than 16 characters")
        if not self.audit_signing_key:
            found.append(
                "AUDIT_SIGNING_KEY is not set (checkpoints would be signed with a key derived "
                "from SECRET_KEY)"
            )
        return found

    @property
    def box_secret(self) -> str:
        """BALLOT_BOX_SECRET, or (development only) one derived from SECRET_KEY."""
        return self.ballot_box_secret or f"ballot-box-dev:{self.secret_key}"

    @property
    def waits(self) -> tuple[float, float]:
        """(lock, statement) timeouts of the service's database sessions."""
        return (self.db_lock_timeout_seconds, self.db_statement_timeout_seconds)

    @property
    def box_secrets(self) -> tuple[str, ...]:
        """The box key ring: the current secret first, then the previous ones."""
        return (self.box_secret, *self.ballot_box_secret_previous)

    @property
    def secret_keys(self) -> tuple[str, ...]:
        """The SECRET_KEY ring: the current key first, then the previous ones."""
        return (self.secret_key, *self.secret_key_previous)

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        values: dict[str, object] = {
            "database_url": _database_url(_raw("DATABASE_URL") or cls.database_url),
            "secret_key": _raw("SECRET_KEY") or cls.secret_key,
            "token_lifetime": timedelta(days=_int("TOKEN_LIFETIME_DAYS", 90)),
            "max_body_bytes": _int("MAX_BODY_BYTES", cls.max_body_bytes),
            "max_import_bytes": _int("MAX_IMPORT_BYTES", cls.max_import_bytes),
            "max_import_rows": _int("MAX_IMPORT_ROWS", cls.max_import_rows),
            "evidence_dir": _raw("EVIDENCE_DIR") or cls.evidence_dir,
            "evidence_max_bytes": _int("EVIDENCE_MAX_BYTES", cls.evidence_max_bytes),
            "evidence_scan_command": _raw("EVIDENCE_SCAN_COMMAND") or None,
            "page_size_default": _int("PAGE_SIZE_DEFAULT", cls.page_size_default),
            "page_size_max": _int("PAGE_SIZE_MAX", cls.page_size_max),
            "public_base_url": _public_url(_raw("PUBLIC_BASE_URL") or _raw("BASE_URL") or ""),
            "trusted_proxies": _int("TRUSTED_PROXIES", 0),
            "audit_signing_key": _signing_key(_raw("AUDIT_SIGNING_KEY") or ""),
            "audit_log_origin": _origin(_raw("AUDIT_LOG_ORIGIN") or cls.audit_log_origin),
            "audit_witnesses": _witness_keys(_raw("AUDIT_WITNESSES") or ""),
            "secret_key_previous": _list(_raw("SECRET_KEY_PREVIOUS") or ""),
            "ballot_box_secret_previous": _list(_raw("BALLOT_BOX_SECRET_PREVIOUS") or ""),
            "webhook_allowed_networks": _cidrs(
                "WEBHOOK_ALLOWED_NETWORKS", (_raw("WEBHOOK_ALLOWED_NETWORKS") or "")
            ),
            "audit_checkpoint_dir": _directory("AUDIT_CHECKPOINT_DIR"),
            "audit_checkpoint_minutes": _int(
                "AUDIT_CHECKPOINT_MINUTES", cls.audit_checkpoint_minutes
            ),
            "holidays": _dates(_raw("HOLIDAYS") or ""),
            "extra_workdays": _dates((_raw("EXTRA_WORKDAYS") or ""), "EXTRA_WORKDAYS"),
            "timezone": _timezone(_raw("TIMEZONE") or cls.timezone),
            "complaint_limit": _int("COMPLAINT_LIMIT", 5),
            "complaint_window_seconds": _int("COMPLAINT_WINDOW_SECONDS", 3600),
            "complaint_page_limit": _int("COMPLAINT_PAGE_LIMIT", cls.complaint_page_limit),
            "ballot_limit": _int("BALLOT_LIMIT", cls.ballot_limit),
            "ballot_window_seconds": _int("BALLOT_WINDOW_SECONDS", cls.ballot_window_seconds),
            "ballot_box_secret": _raw("BALLOT_BOX_SECRET") or None,
            "oidc_providers": _oidc(_raw("OIDC_PROVIDERS") or ""),
            "require_if_match": _flag("REQUIRE_IF_MATCH"),
            "cors_origins": _origins(_raw("CORS_ORIGINS") or ""),
            "trusted_proxy_addresses": _networks(_raw("TRUSTED_PROXY_ADDRESSES") or "")
            or cls.trusted_proxy_addresses,
            "log_format": _choice("LOG_FORMAT", _raw("LOG_FORMAT") or "json", ("json", "text")),
            "db_lock_timeout_seconds": _seconds(
                "DB_LOCK_TIMEOUT_SECONDS", cls.db_lock_timeout_seconds
            ),
            "db_statement_timeout_seconds": _seconds(
                "DB_STATEMENT_TIMEOUT_SECONDS", cls.db_statement_timeout_seconds
            ),
            "worker_lease_seconds": _int("WORKER_LEASE_SECONDS", cls.worker_lease_seconds),
            "webhook_timeout_seconds": _int("WEBHOOK_TIMEOUT_SECONDS", 10),
            "idempotency_hours": _int("IDEMPOTENCY_HOURS", cls.idempotency_hours),
            "smtp_host": _raw("SMTP_HOST") or None,
            "smtp_port": _int("SMTP_PORT", cls.smtp_port),
            "smtp_tls": _smtp_tls(_raw("SMTP_TLS") or cls.smtp_tls),
            "smtp_sender": _raw("SMTP_SENDER") or cls.smtp_sender,
            "smtp_user": _raw("SMTP_USER") or None,
            "smtp_password": _raw("SMTP_PASSWORD") or None,
            "pdf_font": _font(_raw("PDF_FONT") or ""),
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]

"""Passwords for the workbench's sign-in: a salted, slow hash (werkzeug's scrypt), never the
password itself; five wrong passwords in a row lock the account's sign-in for fifteen minutes.

Setting a password is audited (who set whose, never the hash). A sign-in that fails says the
same whatever went wrong — no such account, no password, the wrong one — and takes as long, so
neither the answer nor its time tells who has an account here."""

from __future__ import annotations

import functools
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from service.accounts.models import Account
from service.audit.operations import record
from service.context import Actor
from service.db import utcnow
from service.errors import SignInLocked, SignInRefused, ValidationFailed

MIN_LENGTH = 10
MAX_LENGTH = 200
ATTEMPTS = 5  # wrong passwords in a row before the lockout
LOCKOUT = timedelta(minutes=15)


@functools.cache
def _nobody() -> str:
    """Compared against when there is no account or no password, so a refusal takes as long
    (made at the first sign-in, not when the module is imported: no scrypt at start-up)."""
    return generate_password_hash("no account has this password")


def set_password(session: Session, actor: Actor, account: Account, password: str) -> None:
    """A new password (at least ten characters, not the username); the lockout is lifted."""
    problems = []
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        problems.append(f"{MIN_LENGTH} to {MAX_LENGTH} characters")
    if password.strip().lower() == account.username.lower():
        problems.append("not the username")
    if problems:
        raise ValidationFailed(
            "the password is not acceptable",
            detail_zh=f"密码须为{MIN_LENGTH}至{MAX_LENGTH}个字符，且不能与用户名相同",
            errors={"password": problems},
        )
    account.password_hash = generate_password_hash(password)
    account.failed_sign_ins = 0
    account.locked_until = None
    record(
        session,
        actor,
        "account.password_set",
        "account",
        account.id,
        organization_id=account.organization_id,
        after={"username": account.username},
    )


def sign_in(session: Session, username: str, password: str) -> Account:
    """The active account whose password this is; otherwise SignInRefused (or SignInLocked,
    after ATTEMPTS wrong passwords in a row, until LOCKOUT has passed). The caller commits:
    a failed attempt is counted even though the sign-in is refused."""
    account = session.scalars(
        select(Account).where(Account.username == username.strip()).with_for_update()
    ).first()
    now = utcnow()
    if account is not None and account.locked_until is not None and account.locked_until > now:
        check_password_hash(_nobody(), password)
        raise SignInLocked(
            "too many wrong passwords: try again later",
            detail_zh="密码错误次数过多，账号暂时锁定，请稍后再试",
            until=account.locked_until.isoformat(),
        )
    stored = account.password_hash if account is not None and account.is_active else None
    matches = check_password_hash(stored or _nobody(), password)
    if account is not None and stored is not None and matches:
        account.failed_sign_ins = 0
        account.locked_until = None
        return account
    if account is not None:
        account.failed_sign_ins += 1
        if account.failed_sign_ins >= ATTEMPTS:
            account.failed_sign_ins = 0
            account.locked_until = now + LOCKOUT
    raise SignInRefused("wrong username or password", detail_zh="用户名或密码不正确")

"""Registering a witness the way two admins at the root would, for tests that run one."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.audit import witness, witnesses
from service.audit.models import Witness
from service.context import Actor
from service.db import make_engine
from service.organizations.models import Organization


def register(url: str, name: str, state: Path) -> str:
    """The witness whose key lives in `state`, registered and approved (once): its key."""
    vkey = witness.verifier_key_of(state, name)
    engine = make_engine(url)
    with Session(engine) as session:
        known = session.scalar(select(Witness.id).where(Witness.name == name))
        if known is None:
            register_in(session, name, vkey)
            session.commit()
    engine.dispose()
    return vkey


def register_in(session: Session, name: str, vkey: str) -> Witness:
    """In a session of the test's own: asked by one admin at the root, approved by another."""
    root = session.scalar(
        select(Organization.id).where(Organization.parent_id.is_(None)).order_by(Organization.id)
    )
    assert root is not None
    asked = witnesses.request(session, Actor.system("root.admin.1"), name, vkey, root)
    return witnesses.decide(session, Actor.system("root.admin.2"), asked, True, root)

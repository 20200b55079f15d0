"""Report figures, aggregated in SQL (GROUP BY), never by looping over gradings in Python.

Only decided, final levels count (states from `rated` on) unless provisional ones are asked for
(then publicity and complaint review count too).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from sqlalchemy import Integer, and_, any_, case, func, literal, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, aliased

from service import calendar
from service.ballots.models import BallotCategory, BallotSession
from service.campaigns.models import Campaign, CampaignPhase, CampaignStandard
from service.gradings import records
from service.gradings.models import Grading, RecordVersion
from service.organizations.models import Domain, Organization, OrgKind
from service.publicity.models import Complaint
from service.rectification.operations import ledger
from service.scores import round_score
from service.standards.models import Adjustment, Indicator, LevelScheme
from service.workflows.states import (
    GRADING_STATE_LABELS,
    LEVEL_STANDS,
    PHASE_OF_STATE,
    UNDER_PUBLICITY,
    ComplaintState,
    GradingState,
    ItemStatus,
)

# A level stands from the decision on; it is final once publicity is over.
PROVISIONAL_STATES = LEVEL_STANDS
FINAL_STATES = tuple(s for s in LEVEL_STANDS if s not in UNDER_PUBLICITY)
# Rectification has begun (its items count in the progress report).
RECTIFYING_STATES = tuple(
    s for s in LEVEL_STANDS if s not in (*UNDER_PUBLICITY, GradingState.RATED)
)


def _share(count: int, total: int) -> Decimal:
    """count / total in percent, half up to two places — round_score's rule, in integers (a
    report over a province takes thousands of these)."""
    if not total:
        return ZERO_SHARE
    hundredths = (count * 20000 + total) // (2 * total)  # ⌊count·10000/total + ½⌋, count ≥ 0
    share = _SHARES.get(hundredths)
    if share is None:
        share = _SHARES[hundredths] = Decimal(hundredths).scaleb(-2)
    return share


_SHARES: dict[int, Decimal] = {}  # at most 10,001 of them: 0.00 … 100.00


ZERO_SHARE = round_score(0)


def levels(session: Session, campaign: Campaign) -> list[tuple[str, str]]:
    scheme = session.get_one(LevelScheme, campaign.level_scheme_id)
    return [(lv.code, lv.label) for lv in scheme.levels]


def _row(name: str, counts: dict[Any, int], level_codes: list[str]) -> dict[str, Any]:
    """党组织数 counts every organization (the `None` key: no level yet); shares are of it."""
    total = sum(counts.values())
    return {
        "name": name,
        "total": total,
        "levels": {
            code: {"count": counts.get(code, 0), "share": _share(counts.get(code, 0), total)}
            for code in level_codes
        },
    }


def summary(
    session: Session, campaign: Campaign, root: Organization, provisional: bool
) -> dict[str, Any]:
    states = PROVISIONAL_STATES if provisional else FINAL_STATES
    codes = [c for c, _ in levels(session, campaign)]
    # Every organization in scope counts in 党组织数; its level only once it stands (final, or
    # provisional when asked): `level` is NULL for the others.
    graded = (
        select(
            case(
                (and_(Grading.state.in_(states), Grading.level.is_not(None)), Grading.level),
                else_=None,
            ).label("level"),
            Organization.id.label("org_id"),
            Organization.parent_id,
            Organization.domain,
            Organization.coordination_area,
        )
        .join(Organization, Organization.id == Grading.organization_id)
        .where(
            Grading.campaign_id == campaign.id,
            Organization.path.startswith(root.path, autoescape=True),
        )
        .subquery()
    )
    # Count in SQL per (parent, level), (domain, level) and (area, level) — one scan of the
    # gradings on PostgreSQL (GROUPING SETS) — then add each parent's groups to the committees
    # on its path (the roll-up touches groups, not gradings).
    by_parent, by_domain, by_area = _counts(session, graded, codes)
    units: dict[int, tuple[str, str, dict[str, int]]] = {}
    above, committees = _committees_over(
        session, [p for p in by_parent if p is not None], root.path
    )
    for parent_id, counts_here in by_parent.items():
        if parent_id is None:
            continue
        for cid in above[parent_id]:
            counts = units.setdefault(cid, (*committees[cid], {}))[2]
            for level, n in counts_here.items():
                counts[level] = counts.get(level, 0) + n
    domain_labels = dict(session.execute(select(Domain.code, Domain.label)).all())
    totals: dict[str | None, int] = {}
    for counts in by_domain.values():
        for level, n in counts.items():
            totals[level] = totals.get(level, 0) + n
    return {
        "campaign": campaign.name,
        "unit": root.name,
        "provisional": provisional,
        "levels": [{"code": c, "label": label} for c, label in levels(session, campaign)],
        "rows": [
            _row(name, counts, codes)
            for name, _, counts in sorted(units.values(), key=lambda u: u[1])
        ],
        "total": _row("合计", totals, codes),
        "by_domain": [
            _row(domain_labels.get(k or "", k or "未填"), v, codes)
            for k, v in sorted(by_domain.items(), key=lambda kv: kv[0] or "")
        ],
        "by_area": [
            _row(k or "未划分协作区", v, codes)
            for k, v in sorted(by_area.items(), key=lambda kv: kv[0] or "")
        ],
    }


Counts = dict[Any, dict[Any, int]]  # key -> level (None: not decided) -> organizations


def _committees_over(
    session: Session, parents: list[int], under: str
) -> tuple[dict[int, list[int]], dict[int, tuple[str, str]]]:
    """Each parent's committees on its path (itself included) within the report's unit, and
    those committees' names and paths. Read by id — the parents, then the organizations
    above them not read yet — rather than every committee of the tree by its path (a scan of
    all organizations)."""
    found: dict[int, tuple[str, str, str]] = {}
    columns = select(Organization.id, Organization.name, Organization.path, Organization.kind)
    postgresql = session.get_bind().dialect.name == "postgresql"

    def read(ids: set[int]) -> None:
        for chunk in _chunks(sorted(ids)):
            # One array parameter on PostgreSQL (a thousand placeholders cost more to send
            # than the lookups); SQLite has no arrays.
            where = (
                Organization.id == any_(literal(chunk, ARRAY(Integer)))
                if postgresql
                else Organization.id.in_(chunk)
            )
            for oid, name, path, kind in session.execute(columns.where(where)):
                found[oid] = (name, path, kind)

    read(set(parents))
    read({oid for _, path, _ in found.values() for oid in _path_ids(path)} - found.keys())
    committees = {
        oid: (name, path)
        for oid, (name, path, kind) in found.items()
        if kind == OrgKind.COMMITTEE.value and path.startswith(under)
    }
    above = {
        parent: [oid for oid in _path_ids(found[parent][1]) if oid in committees]
        for parent in parents
    }
    return above, committees


def _path_ids(path: str) -> list[int]:
    """The organizations on a materialized path ("/1/7/42/"), root first."""
    return [int(part) for part in path.strip("/").split("/")]


def _chunks(ids: list[int], size: int = 5000) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _counts(session: Session, graded: Any, codes: list[str]) -> tuple[Counts, Counts, Counts]:
    """Organizations per (parent, level), (domain, level) and (coordination area, level)."""
    keys = (graded.c.parent_id, graded.c.domain, graded.c.coordination_area)
    found: tuple[Counts, Counts, Counts] = ({}, {}, {})
    if session.get_bind().dialect.name == "postgresql":
        # Counted first per (parent, domain, area) with one count per level code (FILTER) and
        # one of all — ~7,000 groups of three keys over 200,000 rows, where grouping by the
        # level too made ~28,000 of four (measured ~14 % faster on 199,815 organizations) —
        # then summed three ways (GROUPING SETS). GROUPING(parent, domain, area) tells the
        # sets apart: a bit is set for each key left out of the row's set (a NULL domain is a
        # group of its own, not a missing key). What no code counts (no level standing yet, or
        # one the scheme does not name) is the rest of the total, under None.
        which = {0b011: 0, 0b101: 1, 0b110: 2}
        pre = (
            select(
                *keys,
                func.count().label("n"),
                *(
                    func.count().filter(graded.c.level == code).label(f"level_{i}")
                    for i, code in enumerate(codes)
                ),
            )
            .group_by(*keys)
            .subquery()
        )
        grouped = (pre.c.parent_id, pre.c.domain, pre.c.coordination_area)
        per_code = [func.sum(pre.c[f"level_{i}"]) for i in range(len(codes))]
        rows = session.execute(
            select(*grouped, func.grouping(*grouped), func.sum(pre.c.n), *per_code).group_by(
                func.grouping_sets(*grouped)
            )
        )
        for parent_id, domain, area, bits, total, *numbers in rows:
            index = which[bits]
            counts: dict[Any, int] = {
                code: int(n) for code, n in zip(codes, numbers, strict=True) if n
            }
            rest = int(total) - sum(counts.values())
            if rest:
                counts[None] = rest
            found[index][(parent_id, domain, area)[index]] = counts
        return found
    for index, key_column in enumerate(keys):
        query = select(key_column, graded.c.level, func.count()).group_by(
            key_column, graded.c.level
        )
        for key, level, n in session.execute(query):
            found[index].setdefault(key, {})[level] = n
    return found


DETAIL_COLUMNS = [
    ("unit", "单位"),
    ("name", "党组织名称"),
    ("domain", "领域"),
    ("secretary", "书记"),
    ("members", "党员数"),
    ("composite", "综合得分"),
    ("computed_level", "计算等次"),
    ("level", "定级等次"),
    ("state", "状态"),
]


def indicator_columns(session: Session, campaign: Campaign) -> list[tuple[str, str]]:
    """Each indicator of the campaign's standards, scored by the superior (上级) and self (自评);
    an indicator refined into sub-items (细化分解) is followed by a column per sub-item."""
    indicators = session.scalars(
        select(Indicator)
        .join(CampaignStandard, CampaignStandard.standard_id == Indicator.standard_id)
        .where(CampaignStandard.campaign_id == campaign.id)
        .order_by(Indicator.position)
    ).all()
    seen: dict[str, tuple[str, dict[str, str]]] = {}
    for indicator in indicators:
        name, subs = seen.setdefault(indicator.code, (indicator.name, {}))
        for sub in indicator.sub_items:
            subs.setdefault(sub.code, sub.name)
    columns = []
    for code, (name, subs) in seen.items():
        for source, label in (("assessment", "上级"), ("self_rating", "自评")):
            columns.append((f"{source}:{code}", f"{name}({label})"))
            columns += [
                (f"{source}:{code}.{sub}", f"{name}·{sub_name}({label})")
                for sub, sub_name in subs.items()
            ]
    return columns


ADJUSTMENT_KINDS = {"bonus": "加分", "deduction": "扣分"}


def adjustment_columns(session: Session, campaign: Campaign) -> list[tuple[str, str]]:
    """加减分 item by item (the seeds' 扣分项目明细登记), after the indicators: the bonus items,
    then the deductions, each scored by the superior (上级) and self (自评)."""
    items = session.execute(
        select(Adjustment.code, Adjustment.kind, Adjustment.name)
        .join(CampaignStandard, CampaignStandard.standard_id == Adjustment.standard_id)
        .where(CampaignStandard.campaign_id == campaign.id)
        .order_by(Adjustment.position)
    ).all()
    seen: dict[str, tuple[str, str]] = {}
    for code, kind, name in items:
        seen.setdefault(code, (kind, name))
    ordered = sorted(seen.items(), key=lambda item: list(ADJUSTMENT_KINDS).index(item[1][0]))
    return [
        (f"{source}:adjustment.{code}", f"{ADJUSTMENT_KINDS[kind]}·{name}({label})")
        for code, (kind, name) in ordered
        for source, label in (("assessment", "上级"), ("self_rating", "自评"))
    ]


def _adjustments(sheet: Any) -> dict[str, Decimal | None]:
    """Each 加减分 item the sheet gives points for (keyed `adjustment.code`); points are
    positive, the column says whether they are added or deducted."""
    return {
        f"adjustment.{entry['code']}": _number(entry.get("points"))
        for entry in (sheet or {}).get("adjustments") or []
    }


def _latest(record_type: str) -> Any:
    """The newest version of a grading's main record of one type, as a joinable subquery."""
    newest = (
        select(RecordVersion.grading_id, func.max(RecordVersion.version).label("version"))
        .where(RecordVersion.record_type == record_type, RecordVersion.record_key == "main")
        .group_by(RecordVersion.grading_id)
        .subquery()
    )
    version = aliased(RecordVersion)
    return (
        select(version.grading_id, version.data)
        .join(
            newest,
            (newest.c.grading_id == version.grading_id) & (newest.c.version == version.version),
        )
        .where(version.record_type == record_type, version.record_key == "main")
        .subquery()
    )


latest_record = _latest  # for the other reports of this package


def _scores(sheet: Any) -> dict[str, Decimal | None]:
    """Each indicator's score — one scored by sub-items is their sum — and each sub-item's
    (keyed `indicator.sub_item`)."""
    out: dict[str, Decimal | None] = {}
    for entry in (sheet or {}).get("scores") or []:
        subs = entry.get("sub_items") or []
        for sub in subs:
            out[f"{entry['indicator']}.{sub['code']}"] = _number(sub["score"])
        if entry.get("score") is None and subs:
            out[entry["indicator"]] = sum((Decimal(str(s["score"])) for s in subs), Decimal(0))
        else:
            out[entry["indicator"]] = _number(entry.get("score"))
    return out


def _number(value: Any) -> Decimal | None:
    """Scores are stored as exact strings; reports show them as numbers."""
    return None if value is None else Decimal(str(value))


def detail_columns(session: Session, campaign: Campaign) -> list[tuple[str, str]]:
    return [
        *DETAIL_COLUMNS[:5],
        *indicator_columns(session, campaign),
        *adjustment_columns(session, campaign),
        *DETAIL_COLUMNS[5:],
    ]


def detail_rows(
    session: Session, campaign: Campaign, root: Organization, provisional: bool
) -> Iterator[dict[str, Any]]:
    """One row per graded organization, streamed in batches (constant memory)."""
    states = PROVISIONAL_STATES if provisional else FINAL_STATES
    labels = dict(levels(session, campaign))
    domain_labels = dict(session.execute(select(Domain.code, Domain.label)).all())
    parent = aliased(Organization)
    assessment, self_rating, decision = (
        _latest("assessment"),
        _latest("self_rating"),
        _latest("decision"),
    )
    query = (
        select(
            parent.name,
            Organization.name,
            Organization.domain,
            Organization.secretary,
            Organization.member_count,
            Grading.level,
            Grading.state,
            assessment.c.data,
            self_rating.c.data,
            decision.c.data,
        )
        .join(Organization, Organization.id == Grading.organization_id)
        .join(parent, parent.id == Organization.parent_id)
        .outerjoin(assessment, assessment.c.grading_id == Grading.id)
        .outerjoin(self_rating, self_rating.c.grading_id == Grading.id)
        .outerjoin(decision, decision.c.grading_id == Grading.id)
        .where(
            Grading.campaign_id == campaign.id,
            Grading.state.in_(states),
            Organization.path.startswith(root.path, autoescape=True),
        )
        .order_by(Organization.path)
        .execution_options(yield_per=1000)
    )
    for unit_name, name, domain, secretary, members, level, state, sup, own, dec in session.execute(
        query
    ):
        row = {
            "unit": unit_name,
            "name": name,
            "domain": domain_labels.get(domain or "", domain),
            "secretary": secretary,
            "members": members,
            "level": labels.get(level or "", level),
            "state": GRADING_STATE_LABELS.get(state, state),
            "composite": _number((dec or {}).get("composite")),
            "computed_level": labels.get((dec or {}).get("computed_level") or ""),
        }
        for source, sheet in (("assessment", sup), ("self_rating", own)):
            for code, score in (_scores(sheet) | _adjustments(sheet)).items():
                row[f"{source}:{code}"] = score
        yield row


def _lowest_level(session: Session, campaign: Campaign) -> str:
    return levels(session, campaign)[-1][0]


def poor_list(
    session: Session, campaign: Campaign, root: Organization, provisional: bool
) -> list[dict[str, Any]]:
    """较差名单: the organizations decided at the lowest level."""
    label = dict(levels(session, campaign))[_lowest_level(session, campaign)]
    return [
        row for row in detail_rows(session, campaign, root, provisional) if row["level"] == label
    ]


def poor_status(
    session: Session, campaign: Campaign, root: Organization, provisional: bool
) -> list[dict[str, Any]]:
    """较差状况明细表: problems and causes, measures, helpers, deadlines, progress."""
    states = PROVISIONAL_STATES if provisional else FINAL_STATES
    lowest = _lowest_level(session, campaign)
    rows = session.execute(
        select(Grading, Organization)
        .join(Organization, Organization.id == Grading.organization_id)
        .where(
            Grading.campaign_id == campaign.id,
            Grading.state.in_(states),
            Grading.level == lowest,
            Organization.path.startswith(root.path, autoescape=True),
        )
        .order_by(Organization.path)
    ).all()
    out = []
    for grading, org in rows:
        items = [i.data for i in records.latest_versions(session, grading.id, "rectification_item")]
        closed = sum(1 for i in items if i.get("status") == ItemStatus.CLOSED)
        helpers_record = records.current(session, grading.id, "rectification_helpers", "main")
        helpers = helpers_record.data if helpers_record else {}
        pairing = records.current(session, grading.id, "rectification_pairing", "main")
        activities = records.latest_versions(session, grading.id, "pairing_activity")
        out.append(
            {
                "name": org.name,
                "problems": "；".join(i.get("problem", "") for i in items),
                "causes": "；".join(i.get("cause", "") for i in items),
                "measures": "；".join(i.get("measure", "") for i in items),
                "paired_leader": helpers.get("paired_leader"),
                "liaison": helpers.get("liaison"),
                "paired_with": pairing.data["partner_name"] if pairing else None,
                "pairing_activities": "；".join(
                    f"{a.data['held_on']} {a.data['kind']}" for a in activities
                ),
                "deadline": max((i.get("deadline", "") for i in items), default=None),
                "progress": f"{closed}/{len(items)}",
            }
        )
    return out


def progress(session: Session, campaign: Campaign, root: Organization) -> dict[str, Any]:
    """Campaign progress: gradings per state per committee, ballots, complaints, items."""
    unit = aliased(Organization)
    in_scope = Organization.path.startswith(root.path, autoescape=True)
    per_state = session.execute(
        select(unit.name, Grading.state, func.count())
        .select_from(Grading)
        .join(Organization, Organization.id == Grading.organization_id)
        .join(unit, unit.id == Organization.parent_id)
        .where(Grading.campaign_id == campaign.id, in_scope)
        .group_by(unit.name, Grading.state)
        .order_by(unit.name)
    ).all()
    states: dict[str, dict[str, int]] = {}
    for name, state, n in per_state:
        states.setdefault(name, {})[state] = n
    issued, returned = session.execute(
        select(
            func.coalesce(func.sum(BallotCategory.issued), 0),
            func.coalesce(func.sum(BallotCategory.returned), 0),
        )
        .join(BallotSession, BallotSession.id == BallotCategory.session_id)
        .where(BallotSession.campaign_id == campaign.id)
    ).one()
    complaints = dict(
        session.execute(
            select(Complaint.state, func.count())
            .join(Grading, Grading.id == Complaint.grading_id)
            .join(Organization, Organization.id == Grading.organization_id)
            .where(Grading.campaign_id == campaign.id, in_scope)
            .group_by(Complaint.state)
        ).all()
    )
    today = calendar.today()
    due = dict(
        session.execute(
            select(CampaignPhase.phase, CampaignPhase.due_on).where(
                CampaignPhase.campaign_id == campaign.id
            )
        ).all()
    )
    overdue: dict[str, int] = {}
    for unit_states in states.values():
        for state, n in unit_states.items():
            deadline = due.get(PHASE_OF_STATE.get(state, ""))
            if deadline is not None and deadline < today:
                overdue[state] = overdue.get(state, 0) + n
    rectifying = session.scalars(
        select(Grading)
        .join(Organization, Organization.id == Grading.organization_id)
        .where(
            Grading.campaign_id == campaign.id,
            in_scope,
            Grading.state.in_(RECTIFYING_STATES),
        )
    ).all()
    items = ledger(session, list(rectifying), today, False)
    return {
        "campaign": campaign.name,
        "unit": root.name,
        "gradings_by_unit": [{"unit": k, "states": v} for k, v in states.items()],
        "overdue_by_stage": overdue,
        "rectification_items": {
            "open": sum(1 for i in items if i["status"] != ItemStatus.CLOSED),
            "closed": sum(1 for i in items if i["status"] == ItemStatus.CLOSED),
            "overdue": sum(1 for i in items if i["overdue"]),
        },
        "ballots": {"issued": int(issued), "returned": int(returned)},
        "complaints": {
            "open": complaints.get(ComplaintState.RECEIVED, 0)
            + complaints.get(ComplaintState.INVESTIGATING, 0),
            "answered": complaints.get(ComplaintState.ANSWERED, 0),
        },
    }

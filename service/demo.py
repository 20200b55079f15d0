"""Demo data that looks like the seed documents: a county, a township with 21 branches
(15 village, 4 government organ / public institution, 2 non-public enterprise), a school's
general branch with its first branch, the seven-indicator standard (15/10/10/10/10/20/25),
this year's campaign, and one account per role."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service import calendar
from service.accounts import operations as accounts
from service.accounts import passwords
from service.accounts.models import Role
from service.campaigns import leading_groups
from service.campaigns import operations as campaigns
from service.campaigns.models import Campaign
from service.campaigns.procedure import Duty, Holder
from service.context import Actor
from service.gradings import enrolment
from service.organizations import operations as orgs
from service.organizations.models import Organization
from service.standards import operations as standards
from service.standards.models import LevelScheme
from service.standards.reference import reference_standard
from service.workflows.states import Phase

VILLAGES = [
    "白河",
    "青山",
    "石桥",
    "柳树湾",
    "黄土坡",
    "新华",
    "红星",
    "枫林",
    "金竹",
    "双龙",
    "龙泉",
    "马鞍山",
    "桃园",
    "杨家坪",
    "李家湾",
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐"
GIVEN = [
    "建国",
    "志强",
    "秀英",
    "海燕",
    "德明",
    "春梅",
    "国华",
    "丽娟",
    "永红",
    "文斌",
    "玉兰",
    "新民",
    "晓东",
    "桂芳",
    "明亮",
    "红霞",
    "卫东",
    "淑珍",
    "立新",
    "雪梅",
    "振华",
    "慧敏",
]

DOMAINS_USED = ["village", "organ", "institution", "private_enterprise", "school"]


@dataclass
class DemoAccount:
    username: str
    role: Role
    organization: str
    token: str
    password: str  # the workbench's sign-in; one per demo database, the same for every account


def _name(n: int) -> str:
    return SURNAMES[n % len(SURNAMES)] + GIVEN[(n * 7) % len(GIVEN)]


def is_empty(session: Session) -> bool:
    return not session.scalar(select(func.count()).select_from(Organization))


@dataclass
class Places:
    """The organizations the rest of the demo refers to."""

    city: Organization
    county: Organization
    town: Organization


def load(session: Session, year: int | None = None) -> list[DemoAccount]:
    """The whole demo: organizations, standards, this year's campaign (opened), accounts."""
    actor = Actor.system("demo")
    year = year or calendar.today().year
    places = organizations(session, actor, year)
    opened = campaign(session, actor, places.county, standards_per_domain(session, actor), year)
    leading_group(session, actor, opened, places.town, year)
    return demo_accounts(session, actor, places)


def leading_group(
    session: Session, actor: Actor, opened: Campaign, town: Organization, year: int
) -> None:
    """The township's 领导小组, as the seeds' 凤凰镇-like township formed one at its 动员会."""
    leading_groups.form(
        session,
        actor,
        opened,
        town,
        {
            "name": "凤凰镇基层党组织分类定级工作领导小组",
            "leader": "凤凰镇党委书记 陈志刚",
            "deputies": ["凤凰镇党委副书记 刘芳"],
            "members": ["组织委员 王磊", "纪委书记 周敏", "宣传委员 黄海"],
            "office": "镇党建办",
            "formed_on": (
                calendar.today() - timedelta(days=4)
                if year == calendar.today().year
                else date(year, 3, 12)
            ),
        },
    )


def organizations(session: Session, actor: Actor, year: int) -> Places:
    """宜昌市委组织部 → 兴隆县委 → 凤凰镇党委 (21 branches) and 青石镇党委 (3), a school, and a
    hospital's 基层党委."""

    def org(
        parent: Organization | None,
        code: str,
        name: str,
        kind: str,
        domain: str | None = None,
        members: int = 0,
        n: int = 0,
        area: str | None = None,
        founded: date | None = None,
        contact: str | None = None,
        graded_committee: bool = False,
    ) -> Organization:
        grassroots = kind != "committee" or graded_committee
        secretary = _name(n) if grassroots or parent else None
        # 支部基本情况: the roll (one in eight 预备), the 支委 and when they were elected
        roll = {
            "full_members": members - members // 8,
            "probationary_members": members // 8,
            "committee_members": [
                {"name": secretary, "post": "书记"},
                {"name": _name(n + 11), "post": "组织委员"},
                {"name": _name(n + 17), "post": "宣传委员"},
            ],
            "elected_on": date(year - 1 - n % 3, 9, 1),
        }
        return orgs.create_organization(
            session,
            actor,
            parent,
            {
                "code": code,
                "name": name,
                "kind": kind,
                "domain": domain,
                "member_count": members,
                "secretary": secretary,
                "coordination_area": area,
                "founded_on": founded,
                "notice_contact": contact,
                "grassroots": graded_committee,
                **(roll if grassroots else {}),
            },
        )

    city = org(None, "YC", "宜昌市委组织部", "committee")
    county = org(
        city,
        "YC-XL",
        "兴隆县委",
        "committee",
        n=1,
        contact="电话 0717-3212345（工作日 8:30-17:30）；地址 兴隆县人民路1号县委组织部组织科；"
        "信箱 兴隆县委组织部组织科收（邮编 443100）",
    )
    town = org(county, "YC-XL-FH", "凤凰镇党委", "committee", n=2)
    other_town = org(county, "YC-XL-QS", "青石镇党委", "committee", n=3)
    for i, village in enumerate(VILLAGES):
        org(
            town,
            f"YC-XL-FH-V{i + 1:02d}",
            f"{village}村党支部",
            "branch",
            "village",
            members=18 + (i * 7) % 40,
            n=10 + i,
            area="东片协作区" if i < 8 else "西片协作区",
            founded=date(1950 + i * 3, 1 + i % 12, 1 + i % 27),
        )
    org(town, "YC-XL-FH-G01", "凤凰镇机关第一党支部", "branch", "organ", 24, 30)
    org(town, "YC-XL-FH-G02", "凤凰镇机关第二党支部", "branch", "organ", 19, 31)
    org(town, "YC-XL-FH-I01", "凤凰镇卫生院党支部", "branch", "institution", 15, 32)
    org(town, "YC-XL-FH-I02", "凤凰镇农业服务中心党支部", "branch", "institution", 11, 33)
    # Two non-public enterprises founded recently: the new-organization rule applies to them.
    org(
        town,
        "YC-XL-FH-P01",
        "凤凰建材有限公司党支部",
        "branch",
        "private_enterprise",
        7,
        34,
        founded=date(year - 1, 9, 1),
    )
    org(
        town,
        "YC-XL-FH-P02",
        "凤凰柑橘专业合作社党支部",
        "branch",
        "private_enterprise",
        5,
        35,
        founded=date(year, 1, 15),
    )
    for i, village in enumerate(["石门", "高岭", "沙坪"]):
        org(
            other_town,
            f"YC-XL-QS-V{i + 1:02d}",
            f"{village}村党支部",
            "branch",
            "village",
            members=20 + i * 5,
            n=40 + i,
        )
    # the general branch's roll counts its first branch's 13 members
    school = org(county, "YC-XL-SZ3", "兴隆县第三中学党总支", "general_branch", "school", 16, 50)
    org(school, "YC-XL-SZ3-01", "兴隆县第三中学第一党支部", "branch", "school", 13, 51)
    # a 基层党委: a hospital's committee, graded like a branch
    org(
        county,
        "YC-XL-RY",
        "兴隆县人民医院党委",
        "committee",
        "institution",
        62,
        52,
        graded_committee=True,
    )
    return Places(city, county, town)


def standards_per_domain(session: Session, actor: Actor) -> dict[str, int]:
    """Each 领域's shipped reference standard (附件1), published as it is."""
    return {
        domain: standards.create_standard(session, actor, reference_standard(domain)).id
        for domain in DOMAINS_USED
    }


def campaign(
    session: Session,
    actor: Actor,
    county: Organization,
    standard_ids: dict[str, int],
    year: int,
    place: str = "兴隆县",
    good_share: Decimal | None = Decimal(20),
) -> Campaign:
    """This year's campaign of the county (or of `place`'s committee), opened: one grading per
    grassroots organization."""
    scheme = session.scalars(select(LevelScheme).where(LevelScheme.code == "four_levels")).one()
    # deadlines from today (the survey due in a week, each later stage ten days after the one
    # before), so a new demo shows work to do rather than everything overdue
    today = calendar.today()
    start = today - timedelta(days=3) if year == today.year else date(year, 3, 15)
    created = campaigns.create_campaign(
        session,
        actor,
        county,
        {
            "name": f"{year}年{place}基层党组织分类定级",
            "year": year,
            "level_scheme_id": scheme.id,
            "standards": [{"domain": d, "standard_id": i} for d, i in standard_ids.items()],
            "phases": [
                {"phase": p, "starts_on": None, "due_on": start + timedelta(days=10 * (n + 1))}
                for n, p in enumerate(Phase)
            ],
            "publicity_working_days": 5,
            "sources": [
                {"source": "superior", "weight": Decimal(50)},
                {"source": "members", "weight": Decimal(20)},
                {"source": "public", "weight": Decimal(10)},
                {"source": "self", "weight": Decimal(20)},
            ],
            "quota_rules": (
                [{"level_code": "good", "max_share": good_share, "min_share": None}]
                if good_share is not None
                else []
            ),
            "veto_rules": [
                {
                    "code": "leader_violation",
                    "forced_level_code": "poor",
                    "description": "班子成员欺行霸市、制假售假、商业贿赂或充当“保护伞”",
                }
            ],
            "new_org_cutoff": date(year - 1, 7, 1),
            # the seed documents' procedure, said out loud (it is also the default): the
            # superior's duties stay with the county's people, the branch forms its opinion,
            # a 分类定级会议 decides; the inspection group accepts rectification and promotion;
            # the county's leading group gives its opinion before a promotion
            "decision_config": {
                "duties": {duty.value: Holder.SUPERIOR.value for duty in Duty},
                "branch_opinion": True,
                "decision_meeting": True,
                "inspection_acceptance": ["rectification", "promotion"],
                "promotion_opinions": [{"code": "LG", "name": "县委党建工作领导小组"}],
            },
        },
    )
    enrolment.open_campaign(session, actor, created)
    return created


def demo_accounts(session: Session, actor: Actor, places: Places) -> list[DemoAccount]:
    """One account per role, each with a token valid for a year."""
    people = [
        ("admin", "市委组织部管理员", Role.ADMIN, places.city),
        ("county.supervisor", "兴隆县委审批人", Role.SUPERVISOR, places.county),
        ("county.reviewer", "兴隆县委评定人", Role.REVIEWER, places.county),
        ("county.teller", "兴隆县委计票人", Role.TELLER, places.county),
        ("county.inspector", "兴隆县纪委检查人", Role.INSPECTOR, places.county),
        ("fenghuang.admin", "凤凰镇党委管理员", Role.ADMIN, places.town),
        (
            "baihe.secretary",
            "白河村党支部书记",
            Role.SECRETARY,
            orgs.get_by_code(session, "YC-XL-FH-V01"),
        ),
    ]
    result = []
    password = secrets.token_urlsafe(9)
    for username, display, role, where in people:
        assert where is not None
        account = accounts.create_account(
            session, actor, username=username, display_name=display, organization=where
        )
        accounts.grant_role(session, actor, account, role, where)
        _, token = accounts.issue_token(
            session, actor, account, name="demo", lifetime=timedelta(days=365)
        )
        passwords.set_password(session, actor, account, password)
        result.append(DemoAccount(username, role, where.name, token, password))
    return result

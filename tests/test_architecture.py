"""The shape of the code: dependencies flow one way, and only the workflow engine writes a
lifecycle's state."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from sqlalchemy import CheckConstraint, inspect, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.accounts.models import Role
from service.audit.witness_workflow import ADMIN as WITNESS_ADMIN
from service.catalogue import WORKFLOWS
from service.db import Base
from service.errors import StateWriteRefused
from service.events.models import WebhookDelivery, WebhookSubscription
from service.events.workflow import ADMIN as WEBHOOK_ADMIN
from service.gradings.models import Grading
from service.organizations.models import Organization
from service.organizations.workflow import ADMIN as ORGANIZATION_ADMIN
from service.workflows.states import one_of
from tests.conftest import Api

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "service"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _imported(node: ast.Import | ast.ImportFrom, importer: str) -> list[str]:
    """The service modules an import statement loads (a name that is a module counts as one)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name in MODULES]
    base = node.module or ""
    if node.level:  # relative
        package = importer.rsplit(".", node.level)[0]
        base = f"{package}.{base}" if base else package
    found = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in MODULES]
    if len(found) < len(node.names) and base in MODULES:
        found.append(base)
    return found


def import_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        targets = graph.setdefault(name, set())
        for node in ast.walk(tree):  # every import, at module level or not
            if isinstance(node, ast.Import | ast.ImportFrom):
                targets.update(t for t in _imported(node, name) if t != name)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def packages(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The graph between the service's packages (and its top-level modules): service.x.y is x."""

    def package(module: str) -> str:
        return module.split(".")[1] if "." in module else module

    found: dict[str, set[str]] = {}
    for module, targets in graph.items():
        found.setdefault(package(module), set()).update(
            package(t) for t in targets if package(t) != package(module)
        )
    return found


# The layers, bottom up (docs/architecture.md draws them): a package imports only packages of
# its own layer or of the layers below it — never one above, and never in a loop.
LAYERS: tuple[tuple[str, frozenset[str]], ...] = tuple(
    (name, frozenset(members.split()))
    for name, members in (
        ("foundation", "service calendar context driver errors logs scores db"),
        ("engine", "workflows"),
        ("trail", "audit"),
        ("settings and the tree", "config migrate idempotency organizations"),
        ("people and standards", "accounts standards"),
        ("campaigns", "campaigns"),
        ("gradings", "gradings"),
        (
            "the stages",
            "survey ballots scoring decisions publicity inspection workdays rectification "
            "spotchecks metrics events evidence",
        ),
        ("across the stages", "lifecycle promotion reports reporting verification"),
        ("the app", "catalogue models demo demo_examples api pages app __main__ wsgi"),
    )
)


def layer_of(package: str) -> int:
    return next(n for n, (_, members) in enumerate(LAYERS) if package in members)


def test_every_package_has_a_layer() -> None:
    named = [p for _, members in LAYERS for p in members]
    assert len(named) == len(set(named))
    assert set(packages(import_graph())) == set(named)


def test_no_package_imports_one_of_a_higher_layer() -> None:
    upward = [
        f"{source} ({LAYERS[layer_of(source)][0]}) -> {target} ({LAYERS[layer_of(target)][0]})"
        for source, targets in packages(import_graph()).items()
        for target in sorted(targets)
        if layer_of(target) > layer_of(source)
    ]
    assert upward == []


def test_the_packages_import_each_other_in_no_loop() -> None:
    graph = packages(import_graph())
    assert {"gradings", "lifecycle", "audit", "events"} <= set(graph)
    assert cycles(graph) == []


def test_a_loop_between_packages_is_found() -> None:
    modules = {
        "service.a.x": {"service.b.y"},
        "service.b.y": {"service.b.z"},
        "service.b.z": {"service.a.w"},
        "service.a.w": set(),
    }
    assert packages(modules) == {"a": {"b"}, "b": {"a"}}
    assert cycles(packages(modules)) == [["a", "b"]]


def test_the_audit_log_imports_no_domain_package() -> None:
    """The trail sits under every domain: the portal outbox is installed beside it by the app
    (service.events.outbox.install), the trail-vs-tables replay is in service.verification."""
    assert packages(import_graph())["audit"] <= {"context", "db", "errors", "scores", "workflows"}


def test_the_workflow_engine_imports_no_domain_package() -> None:
    graph = import_graph()
    for module in ("engine", "spec", "states", "writes", "context", "approval"):
        imported = {t for t in graph[f"service.workflows.{module}"] if t.startswith("service.")}
        assert imported <= {"service.errors"} | {
            f"service.workflows.{m}" for m in ("spec", "states", "writes", "engine")
        }, module


def test_lifecycles_below_the_accounts_name_the_admin_role_as_accounts_does() -> None:
    assert WITNESS_ADMIN == ORGANIZATION_ADMIN == WEBHOOK_ADMIN == Role.ADMIN


def test_the_import_graph_has_no_cycle() -> None:
    graph = import_graph()
    assert len(graph) > 50 and "service.lifecycle.operations" in graph
    assert cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_no_service_module_is_imported_inside_a_function() -> None:
    inside = []
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                inside += [
                    f"{name}:{inner.lineno}"
                    for inner in ast.walk(node)
                    if isinstance(inner, ast.Import | ast.ImportFrom) and _imported(inner, name)
                ]
    assert inside == []


# An assignment statement with `<something>.state` (or `.status`) among its targets, or an
# UPDATE's values naming the column as a keyword (set-based moves take the engine's
# destination: Workflow.moving_rows).
STATE_WRITE = re.compile(
    r"^\s*[\w.\[\], ]*\.(state|status)\b[\w.\[\], ]*=(?!=)|\.values\(.*\b(state|status)=(?!=)"
)


@pytest.mark.parametrize("folder", ["service", "tests"])
def test_only_the_engine_assigns_a_lifecycle_state(folder: str) -> None:
    writes = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in (ROOT / folder).rglob("*.py")
        if "workflows" not in path.parts and path.name != "test_architecture.py"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if STATE_WRITE.search(line)
    ]
    assert writes == []


def test_the_state_write_finder_finds_an_assignment_and_an_updates_values() -> None:
    assert STATE_WRITE.search('    grading.state = "decided"')
    assert STATE_WRITE.search('    .values(status="paused", paused_reason=reason)')
    assert not STATE_WRITE.search("    if grading.state == GradingState.SURVEY:")
    assert not STATE_WRITE.search("    .values({WebhookDelivery.status: dest, **values})")


def test_a_state_written_directly_is_refused(api: Api, db: Session) -> None:
    grading = db.get_one(Grading, api.world.gradings["A1-01"].id)
    with pytest.raises(StateWriteRefused):
        grading.state = "rated"
    assert grading.state == "survey"
    branch = db.get_one(Organization, api.world.org("A1").id)  # an admin's code cannot skip
    with pytest.raises(StateWriteRefused):  # the merge/dissolve checks (active children …)
        branch.status = "dissolved"
    assert branch.status == "active"


def test_a_webhook_status_written_directly_is_refused(api: Api, db: Session) -> None:
    """The attack: code that marks a delivery delivered, or a paused portal's subscription
    active, without the worker's send or an admin's resume — and a state nobody declared."""
    subscription = WebhookSubscription(
        name="portal",
        url="https://portal.example/hook",
        types=[],
        organization_id=api.world.org("A1").id,
        secret_wrapped=b"",
        created_by="t",
    )
    db.add(subscription)
    db.flush()
    delivery = WebhookDelivery(subscription_id=subscription.id, event_id=1, seq=1, subject="s")
    db.add(delivery)
    db.flush()
    with pytest.raises(StateWriteRefused):
        delivery.status = "delivered"
    with pytest.raises(StateWriteRefused):
        subscription.status = "paused"
    assert (delivery.status, subscription.status) == ("pending", "active")
    with pytest.raises(IntegrityError):
        db.execute(text("UPDATE webhook_deliveries SET status = 'sent'"))


def test_every_lifecycle_is_served_with_its_diagram(api: Api) -> None:
    names = {
        "campaign",
        "grading",
        "ballot_session",
        "complaint",
        "approval",
        "rectification_plan",
        "rectification_item",
        "grant_request",
        "spot_check",
        "witness",
        "organization",
        "webhook_subscription",
        "webhook_delivery",
    }
    assert set(WORKFLOWS) == names
    for name in names:
        served = api.get(f"/api/v1/workflows/{name}", who=None).get_json()
        assert served["name"] == name
        assert served["mermaid"].startswith("stateDiagram-v2")
        states = {s["name"] for s in served["states"]}
        assert {t["source"] for t in served["transitions"]} <= states
        assert {t["dest"] for t in served["transitions"]} <= states
        # a person's step names who may fire it; the worker's names nobody
        assert all(bool(t["roles"]) != t["automatic"] for t in served["transitions"])


LIFECYCLE_COLUMNS = [
    ("campaigns", "status", "campaign"),
    ("gradings", "state", "grading"),
    ("ballot_sessions", "state", "ballot_session"),
    ("complaints", "state", "complaint"),
    ("approvals", "state", "approval"),
    ("grant_requests", "state", "grant_request"),
    ("spot_checks", "state", "spot_check"),
    ("audit_witnesses", "state", "witness"),
    ("organizations", "status", "organization"),
    ("webhook_subscriptions", "status", "webhook_subscription"),
    ("webhook_deliveries", "status", "webhook_delivery"),
]


@pytest.mark.parametrize(("table", "column", "workflow"), LIFECYCLE_COLUMNS)
def test_a_state_column_takes_its_lifecycles_states_and_only_the_engine_writes_it(
    table: str, column: str, workflow: str
) -> None:
    """One vocabulary: the CHECK constraint (where the table has one) lists the states the
    workflow declares, and the model routes the column through the engine."""
    spec = WORKFLOWS[workflow].spec
    declared = [str(s.name) for s in spec.states]
    found = Base.metadata.tables[table]
    checks = [
        str(c.sqltext)
        for c in found.constraints
        if isinstance(c, CheckConstraint) and str(c.sqltext).startswith(f"{column} IN (")
    ]
    assert checks in ([], [one_of(column, declared)])
    model = next(m.class_ for m in Base.registry.mappers if m.local_table is found)
    assert column in inspect(model).validators, f"{model.__name__}.{column} is not engine_only"


def test_no_test_module_imports_another() -> None:
    """What several test modules share lives in helper modules (tests/*_helpers.py, world.py,
    tampering.py …); a test module imported by another would run its tests' imports twice and
    hide where a helper lives."""
    importing = [
        f"{path.name}: {node.module}"
        for path in (ROOT / "tests").glob("test_*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tests.test_")
    ]
    assert importing == []


QUERY = re.compile(r"\bselect\(|\.scalars?\(|\.execute\(|session\.get(_one)?\(")


def test_route_files_speak_http_and_leave_queries_to_the_domain() -> None:
    querying = [
        f"{path.name}:{n}: {line.strip()}"
        for path in (PACKAGE / "api" / "routes").glob("*.py")
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if QUERY.search(line)
    ]
    assert querying == []

"""The layout is checked, not hoped for: the domain layering (import-linter contracts in
pyproject.toml), one shape for every domain, SQL only in repositories, routers with their
access presets, problems in Chinese and English, and ruff and mypy clean."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "flexunion"
BIN = Path(sys.executable).parent

# Every domain and sub-domain, and the files of the one shape it has. A domain without
# tables has no models/repository; one without HTTP has no routes.
SHAPE = ("models.py", "schemas.py", "repository.py", "service.py", "routes.py")
DOMAINS: dict[str, tuple[str, ...]] = {
    "audit": SHAPE,
    "auth": ("models.py", "routes.py"),
    "auth/workers": ("schemas.py", "repository.py", "service.py", "routes.py"),
    "auth/staff": ("schemas.py", "repository.py", "service.py", "routes.py"),
    "auth/partners": ("schemas.py", "repository.py", "service.py", "routes.py"),
    "auth/sessions": ("schemas.py", "repository.py", "service.py"),
    "auth/providers": ("repository.py", "service.py"),
    "federation": SHAPE,
    # The working calendar: + hours.py (the pure engine), files.py (the file), apply.py.
    "calendars": SHAPE,
    # SLA clocks: + engine.py (the pure clock), rules.py (which event does what), pauses.py.
    "cases/clocks": SHAPE,
    "consent": SHAPE,
    "inbox": SHAPE,
    "membership": SHAPE,
    "membership/cards": ("schemas.py", "service.py", "routes.py"),
    "transfers": SHAPE,
    "me": ("schemas.py", "service.py", "routes.py"),
    "services": ("routes.py",),
    # + rules.py (the pure group rules), files.py (service-groups.yaml).
    "services/events": SHAPE,
    "services/groups": SHAPE,
    "geo": ("routes.py",),
    "geo/areas": SHAPE,
    "geo/stations": SHAPE,
    "geo/checkins": SHAPE,
    "geo/census": SHAPE,
    "bargaining": ("routes.py",),
    "bargaining/board": SHAPE,
    "bargaining/reports": SHAPE,
    "bargaining/rounds": SHAPE,
    "bargaining/ballots": SHAPE,
    "bargaining/evidence": SHAPE,
    "bargaining/participation": SHAPE,
    "cases": ("routes.py",),
    # 协议条款: the platform rules register (+ categories.py, the pure categories).
    "contracts/rules": SHAPE,
    # The ledger at the bottom: + codes.py, lifecycle.py (the step table), http.py (what the
    # case routers share).
    "cases/ledger": SHAPE,
    "cases/policies": SHAPE,
    "cases/intake": ("schemas.py", "repository.py", "service.py", "routes.py"),
    "cases/handling": ("schemas.py", "service.py", "routes.py"),
    "cases/suggestions": ("schemas.py", "repository.py", "service.py", "routes.py"),
    "cases/attachments": SHAPE,
    "cases/followup": SHAPE,
    # 跟随转会: a job's work, no HTTP; its table (case_sight) is the ledger's model.
    "cases/moves": ("repository.py", "service.py"),
    # 季度整改清单: + quarters.py (pure), steps.py (the writes), export.py (the CSV).
    "cases/rectification": SHAPE,
    # 调解与法律援助衔接: providers and referrals.
    "cases/referrals": SHAPE,
    # 机构端: a provider's clients, its referrals and receipts (the tables are auth's and
    # referrals' models).
    "cases/provider_desk": ("schemas.py", "repository.py", "service.py", "routes.py"),
    # 办理统计: no tables; + periods.py (pure), export.py (the CSV).
    "cases/figures": ("schemas.py", "repository.py", "service.py", "routes.py"),
    # 争议处置: + codes.py (the kinds, checklists and ladder, pure).
    "cases/disputes": SHAPE,
    # 周研判: + rules.py (the ISO weeks and the thresholds, pure).
    "cases/weekly": SHAPE,
    "contracts": ("routes.py",),
    # 条款条件: the pure CEL engine (engine.py, fast.py its Python translation): no tables.
    "contracts/conditions": ("engine.py",),
    # 条款模板: + files.py (tenants/<fed>/clause-templates.yaml).
    "contracts/templates": SHAPE,
    # 协议: + diff.py (what changed between two versions, pure), outcomes.py (the board's hooks).
    "contracts/agreements": SHAPE,
    # 条款文书: the signed documents; no tables of its own.
    "contracts/documents": ("schemas.py", "service.py", "routes.py"),
    # 核验节点: checkpoints, evidence and its evaluation, signatures, objections.
    "contracts/checkpoints": SHAPE,
    # 服务目录: + files.py (tenants/<fed>/services.yaml).
    "services/catalogue": SHAPE,
    # 服务申请: a worker's applications, materials and the window's decisions.
    "services/applications": SHAPE,
    # 帮扶台账: + lifecycle.py (the step table the trigger of migration 0053 mirrors),
    # budget.py (经费科目), retention.py (the purge job's work), errors.py (its refusals).
    "services/assistance": SHAPE,
    # 触发规则: + rules.py (the conditions, pure), files.py (service-triggers.yaml).
    "services/triggers": SHAPE,
    # 月度复盘: computed when asked, no tables of its own (its SQL reads the services' tables).
    "services/review": ("schemas.py", "repository.py", "service.py", "routes.py"),
    "provisioning": ("schemas.py", "service.py"),
    # The job queue: pgqueuer's tables (no models), its SQL, the runner; no HTTP.
    "jobs": ("repository.py", "service.py"),
    # Pages over the domains' services: no tables, no SQL of its own (checked below).
    "console": ("routes.py",),
}
# Modules that may speak SQL although they are no repository, and why.
SQL_ALLOWED = {
    "core": "the unit of work, idempotency records and the outbox are the request pipeline",
    "db": "engines, scope, migrations and retention are the database layer itself",
    "cli": "operator commands call services only, but tests of them need no SQL here",
}
SQL_NAMES = {"select", "text", "update", "delete", "insert", "func", "tuple_", "and_", "or_"}
SQL_METHODS = {"execute", "scalar", "scalars", "scalar_one", "fetch", "fetchrow", "fetchval",
               "executemany", "copy_records_to_table"}
CJK = re.compile(r"[\u3400-\u9fff]")


def _modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if "__pycache__" not in p.parts)


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def test_import_layers_hold() -> None:
    done = subprocess.run([str(BIN / "lint-imports"), "--no-cache"], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("domain", sorted(DOMAINS))
def test_every_domain_has_the_one_shape(domain: str) -> None:
    folder = SRC / domain
    missing = [f for f in DOMAINS[domain] if not (folder / f).is_file()]
    assert not missing, f"{domain} lacks {missing}"


def test_no_domain_is_left_out_of_the_shape() -> None:
    """A new package must be added to DOMAINS (and so take the shape)."""
    packages = {p.parent.relative_to(SRC).as_posix() for p in SRC.rglob("__init__.py")
                if p.parent != SRC and "__pycache__" not in p.parts}
    unknown = sorted(packages - set(DOMAINS) - set(SQL_ALLOWED))
    assert not unknown, f"packages without a declared shape: {unknown}"


def _speaks_sql(path: Path) -> list[str]:
    found = []
    tree = _tree(path)
    sql_aliases: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            for alias in node.names:
                if alias.name in SQL_NAMES:
                    sql_aliases.add(alias.asname or alias.name)
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in sql_aliases:
                found.append(f"{path.name}:{node.lineno} {func.id}(")
            if isinstance(func, ast.Attribute) and func.attr in SQL_METHODS:
                found.append(f"{path.name}:{node.lineno} .{func.attr}(")
    return found


def test_sql_lives_in_repositories() -> None:
    offenders = []
    for path in _modules():
        rel = path.relative_to(SRC)
        if rel.parts[0] in SQL_ALLOWED or path.name in ("repository.py", "models.py"):
            continue
        offenders += [f"{rel.parent}/{hit}" for hit in _speaks_sql(path)]
    assert not offenders, "SQL outside a repository:\n" + "\n".join(offenders)


def test_routes_export_a_router_and_handlers_take_no_access_of_their_own() -> None:
    """Access (audiences, roles) is the router's `opt`; a handler adds only IDEMPOTENT."""
    for path in SRC.rglob("routes.py"):
        tree = _tree(path)
        names = {t.id for node in tree.body if isinstance(node, ast.Assign)
                 for t in node.targets if isinstance(t, ast.Name)}
        assert "router" in names, f"{path.relative_to(SRC)} exports no `router`"
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in (
                    "get", "post", "put", "patch", "delete"):
                for kw in node.keywords:
                    if kw.arg == "opt" and isinstance(kw.value, ast.Dict):
                        keys = {k.value for k in kw.value.keys if isinstance(k, ast.Constant)}
                        assert not keys & {"audiences", "roles"}, (
                            f"{path.relative_to(SRC)}:{node.lineno} sets access on a handler")


def _error_classes() -> set[str]:
    """Names of every DomainError subclass defined in the package (by name, transitively),
    except those with a constructor of their own (they build both details themselves)."""
    bases: dict[str, set[str]] = {}
    own_init: set[str] = set()
    for path in _modules():
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.ClassDef):
                bases[node.name] = {b.id if isinstance(b, ast.Name) else
                                    b.attr if isinstance(b, ast.Attribute) else ""
                                    for b in node.bases}
                if any(isinstance(f, ast.FunctionDef) and f.name == "__init__"
                       for f in node.body):
                    own_init.add(node.name)
    errors = {"DomainError"}
    changed = True
    while changed:
        changed = False
        for name, parents in bases.items():
            if name not in errors and parents & errors:
                errors.add(name)
                changed = True
    # Unauthenticated's constructor only fixes the header; it takes both details as given.
    return errors - (own_init - {"Unauthenticated", "DomainError"})


def test_every_problem_detail_is_in_chinese_and_english() -> None:
    errors = _error_classes()
    offenders = []
    for path in _modules():
        for node in ast.walk(_tree(path)):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else (
                func.attr if isinstance(func, ast.Attribute) else "")
            if name not in errors or name == "DomainError" or not node.args:
                continue
            first = node.args[0]
            where = f"{path.relative_to(SRC)}:{node.lineno}"
            if len(node.args) < 2:
                offenders.append(f"{where} {name}(…) has no detail_en")
            elif isinstance(first, ast.Constant | ast.JoinedStr) and not CJK.search(
                    ast.unparse(first)):
                offenders.append(f"{where} {name}(…) detail is not Chinese")
    assert not offenders, "\n".join(offenders)


def test_ruff_is_clean() -> None:
    done = subprocess.run([str(BIN / "ruff"), "check", "src", "tests", "bench", "migrations"],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr


def test_mypy_is_clean() -> None:
    done = subprocess.run([str(BIN / "mypy")], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-8000:] + done.stderr

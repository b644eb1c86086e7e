"""The operator CLI, run as the real console script against the test database."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import yaml

from flexunion.config import Settings
from tests.conftest import TEST_ISSUER, TEST_SECRET
from tests.support.factories import Federation, bearer, federation_spec

SCRIPT = Path(sys.executable).with_name("flexunion")


@pytest.fixture
def flexunion(settings: Settings, tmp_path: Path):
    """Run `flexunion ARGS...` as its own process; returns the CompletedProcess. Keyword
    arguments add to its environment."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("FLEXUNION_") and k != "DATABASE_URL"}
    env.update({
        "DATABASE_URL": settings.database_url or "",
        "FLEXUNION_APP_DATABASE_URL": settings.app_database_url or "",
        "FLEXUNION_SECRET_KEY": TEST_SECRET,
        "FLEXUNION_ISSUER": TEST_ISSUER,
        "FLEXUNION_DATA_DIR": str(tmp_path / "data"),
        "FLEXUNION_LOAD_DEMO": "0",
        "FLEXUNION_LOG_LEVEL": "WARNING",
    })

    async def run(*args: str, **more_env: str) -> subprocess.CompletedProcess[str]:
        return await asyncio.to_thread(
            subprocess.run, [str(SCRIPT), *args], env=env | more_env, cwd=tmp_path,
            capture_output=True, text=True, timeout=120)

    return run


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, (done.returncode, done.stdout, done.stderr)
    return done.stdout


async def test_migrate_is_repeatable(flexunion) -> None:
    for _ in range(2):
        assert ok(await flexunion("migrate")).strip() == "database at the latest migration"


async def test_tenants_plan_then_apply_then_nothing_to_do(flexunion, tmp_path: Path) -> None:
    prefix = "t" + secrets.token_hex(4)
    folder = tmp_path / "tenants" / prefix
    folder.mkdir(parents=True)
    (folder / "federation.yaml").write_text(
        yaml.safe_dump(federation_spec(prefix, regions=1, stations=2), allow_unicode=True))

    planned = ok(await flexunion("tenants", "plan", str(tmp_path / "tenants")))
    assert f"+ hq        {prefix}-hq" in planned
    assert planned.strip().endswith("6 to create, 0 to update, 0 unchanged, 0 extra (kept)")

    applied = ok(await flexunion("tenants", "apply", str(tmp_path / "tenants")))
    assert "applied: 6 to create, 0 to update" in applied
    again = ok(await flexunion("tenants", "apply", str(tmp_path / "tenants")))
    assert f"= station   {prefix}-r1-s2" in again
    assert again.strip().endswith("applied: 0 to create, 0 to update, 6 unchanged, 0 extra (kept)")


async def test_a_bad_file_exits_non_zero_naming_file_and_field(flexunion, tmp_path: Path) -> None:
    prefix = "t" + secrets.token_hex(4)
    spec = federation_spec(prefix)
    spec["regions"][1]["adcode"] = "31010"
    (tmp_path / "federation.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True))
    done = await flexunion("tenants", "apply", str(tmp_path))
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    assert f"Error: {tmp_path / 'federation.yaml'}: " in done.stderr
    assert "$.regions[1].adcode" in done.stderr


async def test_admin_create_prints_a_password_that_logs_in(flexunion, client: httpx.AsyncClient,
                                                           federation: Federation) -> None:
    region = federation.regions[0]
    username = "admin-" + secrets.token_hex(4)
    out = ok(await flexunion("admin", "create", "--tenant", region, "--username", username,
                             "--role", "regional_admin"))
    assert f"created regional_admin {username}" in out
    password = next(line.split(": ", 1)[1] for line in out.splitlines()
                    if line.startswith("password: "))

    login = await client.post("/v1/admin/login", json={"username": username, "password": password})
    assert login.status_code == 200, login.text
    assert (login.json()["role"], login.json()["tenant"]) == ("regional_admin", region)
    mine = await client.get("/v1/admin/tenants", headers=bearer(login.json()["access_token"]),
                            params={"limit": 100})
    assert {t["code"] for t in mine.json()["items"]} == {region, *federation.stations[region]}

    wrong = await client.post("/v1/admin/login", json={"username": username, "password": "nope"})
    assert wrong.status_code == 401


async def test_provider_client_create_rotate_disable(flexunion, client: httpx.AsyncClient,
                                                     owner, federation: Federation) -> None:
    """机构端 (0041): the operator makes a referral provider's client; its secret takes a
    provider token; rotating stops the old secret; disabling stops the client."""
    from tests.support.callers import legal_aid_client

    region = federation.regions[0]
    async with owner() as s, s.begin():  # the provider itself (and a first client)
        await legal_aid_client(s, federation)
    missing = await flexunion("provider", "create", "--federation", federation.hq,
                              "--provider", "nope")
    assert missing.returncode == 1 and "nope" in missing.stderr and "Traceback" not in \
        missing.stderr
    out = ok(await flexunion("provider", "create", "--federation", federation.hq,
                             "--provider", f"{region}-aid", "--name", "援助站"))
    lines = dict(line.split(": ", 1) for line in out.splitlines())
    cid, secret = lines["client_id"], lines["client_secret"]
    assert cid.startswith(f"rp-{region}-aid-")

    async def token(secret: str) -> httpx.Response:
        return await client.post("/oauth/token", data={"grant_type": "client_credentials"},
                                 auth=(cid, secret))

    granted = await token(secret)
    assert granted.status_code == 200, granted.text
    me = await client.get("/v1/provider/me", headers=bearer(granted.json()["access_token"]))
    assert me.status_code == 200 and me.json()["client_id"] == cid, me.text
    rotated = ok(await flexunion("provider", "rotate", cid)).strip().split(": ", 1)[1]
    assert (await token(secret)).status_code == 401
    assert (await token(rotated)).status_code == 200
    assert ok(await flexunion("provider", "disable", cid)).strip() == f"disabled {cid}"
    assert (await token(rotated)).status_code == 401
    again = await flexunion("provider", "disable", cid)
    assert again.returncode == 1 and "disabled" in again.stderr


async def test_token_issue(flexunion, client: httpx.AsyncClient,
                           federation: Federation) -> None:
    token = ok(await flexunion("token", "issue", "--role", "hq_admin", "--tenant", federation.hq,
                               "--subject", "ops")).strip()
    listed = await client.get("/v1/admin/tenants", headers=bearer(token), params={"limit": 100})
    assert listed.status_code == 200, listed.text
    assert {t["code"] for t in listed.json()["items"]} == set(federation.all_codes())

    misfit = await flexunion("token", "issue", "--role", "station_officer", "--tenant",
                             federation.hq, "--subject", "ops")
    assert misfit.returncode == 1 and misfit.stdout == ""
    assert (f"Error: role station_officer belongs to a tenant of kind station; '{federation.hq}'"
            " is hq") in misfit.stderr


async def test_audit_verify_passes_on_the_intact_chain(flexunion) -> None:
    out = ok(await flexunion("audit", "verify"))
    assert "BROKEN" not in out
    assert out.strip().endswith("audit chain intact")


def json_log_lines(stream: str) -> list[dict[str, object]]:
    found = []
    for line in stream.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and {"level", "logger", "msg"} <= entry.keys():
            found.append(entry)
    return found


async def test_operator_commands_are_quiet_unless_verbose(flexunion,
                                                          federation: Federation) -> None:
    """Even at FLEXUNION_LOG_LEVEL=INFO: `token issue` prints the token and nothing else;
    `-v` shows the logs (here the migrations')."""
    issued = await flexunion("token", "issue", "--role", "hq_admin", "--tenant", federation.hq,
                             "--subject", "s", FLEXUNION_LOG_LEVEL="INFO")
    assert issued.returncode == 0, issued.stderr
    assert issued.stderr == ""
    token = issued.stdout.removesuffix("\n")
    assert token and "\n" not in token and token.count(".") == 2  # one line: a JWT

    quiet = await flexunion("migrate", FLEXUNION_LOG_LEVEL="INFO")
    assert quiet.returncode == 0, quiet.stderr
    assert json_log_lines(quiet.stderr) == []

    verbose = await flexunion("-v", "migrate", FLEXUNION_LOG_LEVEL="INFO")
    assert verbose.returncode == 0, verbose.stderr
    assert verbose.stdout.strip() == "database at the latest migration"
    logged = json_log_lines(verbose.stderr)
    assert logged, verbose.stderr
    assert any(str(entry["logger"]).startswith("alembic") for entry in logged), logged

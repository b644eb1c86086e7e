"""Card keys: one active Ed25519 key per federation, created by the owner (migrate,
tenants apply, keys rotate --federation), rotated without breaking issued cards, and
never interchangeable with access-token keys."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import yaml
from sqlalchemy import select, update

from flexunion.auth import keys
from flexunion.auth.keys import ACCESS, CARD, KeyStore, create_key, ensure_card_keys
from flexunion.auth.models import SigningKey
from flexunion.config import Settings
from flexunion.core.secrets import Keyring
from flexunion.db.engine import make_engine, make_sessionmaker
from flexunion.provisioning.service import apply_directory
from tests.cards.conftest import (
    JOSERFC_EDDSA,
    card,
    forget_keys,
    joserfc_decode,
    member,
    parts,
    verify,
)
from tests.conftest import TEST_ISSUER, TEST_SECRET
from tests.support.factories import Federation, federation_spec

pytestmark = JOSERFC_EDDSA
KEYRING = Keyring(TEST_SECRET.encode())
SCRIPT = Path(sys.executable).with_name("flexunion")


async def card_keys(owner, fed_id) -> list[SigningKey]:
    async with owner() as s:
        return list((await s.scalars(select(SigningKey).where(
            SigningKey.purpose == CARD, SigningKey.federation_id == fed_id)
            .order_by(SigningKey.created_at))).all())


async def test_applying_a_federation_gives_it_one_card_key(owner, federation: Federation,
                                                           tmp_path) -> None:
    fed_id = federation.ids[federation.hq]
    [key] = await card_keys(owner, fed_id)
    assert key.status == "active" and key.kid.startswith("card-") and key.alg == "EdDSA"
    # Applying again, or preparing again, adds nothing.
    async with owner() as s, s.begin():
        assert await ensure_card_keys(s, KEYRING) == []
        assert await ensure_card_keys(s, KEYRING, [fed_id]) == []
    assert len(await card_keys(owner, fed_id)) == 1


async def test_rotating_one_purpose_leaves_the_others(owner, federation: Federation,
                                                      other_federation: Federation) -> None:
    ours, theirs = federation.ids[federation.hq], other_federation.ids[other_federation.hq]
    async with owner() as s, s.begin():
        access_before = await s.scalar(select(SigningKey.kid).where(
            SigningKey.status == "active", SigningKey.purpose == ACCESS))
        await create_key(s, KEYRING, activate=True)  # an access-key rotation …
        active = (await s.scalars(select(SigningKey.kid).where(
            SigningKey.status == "active", SigningKey.federation_id.in_([ours, theirs])))).all()
        assert len(active) == 2  # … retires no card key
        new = await create_key(s, KEYRING, activate=True, purpose=CARD, federation_id=ours)
        rows = {r.kid: r.status for r in (await s.scalars(select(SigningKey).where(
            SigningKey.federation_id.in_([ours, theirs])))).all()}
        assert rows[new] == "active" and sorted(rows.values()) == ["active", "active", "retired"]
        await s.rollback()  # keep the shared access key as it was
    async with owner() as s:
        assert await s.scalar(select(SigningKey.kid).where(
            SigningKey.status == "active", SigningKey.purpose == ACCESS)) == access_before
    with pytest.raises(ValueError):
        async with owner() as s:
            await create_key(s, KEYRING, activate=True, purpose=CARD)


async def test_the_key_store_keeps_purposes_apart(settings: Settings,
                                                  federation: Federation) -> None:
    assert settings.database_url
    engine = make_engine(settings.database_url, pool_size=1, max_overflow=0)
    try:
        store = KeyStore(make_sessionmaker(engine), KEYRING)
        fed_id = federation.ids[federation.hq]
        card_key = await store.card_signing_key(fed_id)
        access_key = await store.signing_key()
        assert (card_key is not None and card_key.purpose == CARD
                and card_key.federation_id == fed_id)
        assert access_key.purpose == ACCESS and access_key.kid != card_key.kid
        assert await store.verification_key(card_key.kid) is None
        assert await store.card_key(access_key.kid) is None
        assert (await store.card_key(card_key.kid)) == card_key
        assert card_key.kid not in {k["kid"] for k in (await store.jwks())["keys"]}
        assert [k["kid"] for k in (await store.card_jwks(fed_id))["keys"]] == [card_key.kid]
    finally:
        await engine.dispose()


async def test_rotation_keeps_issued_cards_valid_and_revocation_ends_them(
    client: httpx.AsyncClient, sms, federation: Federation, staff_token, owner, live,
) -> None:
    fed_id = federation.ids[federation.hq]
    joined = await member(client, sms, federation, staff_token)
    old_card = (await card(client, joined))["token"]
    old_kid = parts(old_card)[0]["kid"]
    async with owner() as s, s.begin():
        new_kid = await create_key(s, KEYRING, activate=True, purpose=CARD, federation_id=fed_id)
    forget_keys(live)  # what every instance does on its own within 60 s
    new_card = (await card(client, joined))["token"]
    assert parts(new_card)[0]["kid"] == new_kid
    published = {k["kid"] for k in (await client.get(
        f"/v1/federations/{federation.hq}/jwks.json")).json()["keys"]}
    assert published == {old_kid, new_kid}
    await joserfc_decode(client, federation, old_card)  # offline, too
    officer = await staff_token(federation, "station_officer",
                                federation.stations[federation.regions[1]][0])
    for token in (old_card, new_card):
        assert (await verify(client, officer, token))["reason"] == "ok"
    # The status list is signed with the new key.
    r = await client.get(f"/v1/federations/{federation.hq}/status-list")
    assert r.status_code == 200
    # A revoked key (compromised) is gone from the JWKS and its cards are refused.
    async with owner() as s, s.begin():
        await s.execute(update(SigningKey).where(SigningKey.kid == old_kid)
                        .values(status="revoked"))
    forget_keys(live)
    published = {k["kid"] for k in (await client.get(
        f"/v1/federations/{federation.hq}/jwks.json")).json()["keys"]}
    assert published == {new_kid}
    assert (await verify(client, officer, old_card))["reason"] == "unknown_key"
    assert (await verify(client, officer, new_card))["reason"] == "ok"


async def test_without_a_keyring_nothing_is_sealed(owner, tmp_path: Path, monkeypatch) -> None:
    """A process that never touched the keys has no keyring: apply skips card keys (and
    logs), and the next `flexunion migrate` creates them."""
    from flexunion.federation.models import Tenant

    monkeypatch.setattr(keys, "_owner_keyring", None)
    prefix = "t" + secrets.token_hex(4)
    folder = tmp_path / prefix
    folder.mkdir()
    (folder / "federation.yaml").write_text(
        yaml.safe_dump(federation_spec(prefix, regions=1, stations=1), allow_unicode=True))
    async with owner() as s, s.begin():
        await apply_directory(s, folder)
        fed_id = await s.scalar(select(Tenant.id).where(Tenant.code == f"{prefix}-hq"))
        assert await ensure_card_keys(s, None, [fed_id]) == []
    assert await card_keys(owner, fed_id) == []
    async with owner() as s, s.begin():
        assert len(await ensure_card_keys(s, KEYRING, [fed_id])) == 1


# ---- the operator CLI --------------------------------------------------------------


@pytest.fixture
def flexunion(settings: Settings, tmp_path: Path):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("FLEXUNION_") and k != "DATABASE_URL"}
    env.update({
        "DATABASE_URL": settings.database_url or "",
        "FLEXUNION_APP_DATABASE_URL": settings.app_database_url or "",
        "FLEXUNION_SECRET_KEY": TEST_SECRET, "FLEXUNION_ISSUER": TEST_ISSUER,
        "FLEXUNION_DATA_DIR": str(tmp_path / "data"), "FLEXUNION_LOAD_DEMO": "0",
        "FLEXUNION_LOG_LEVEL": "WARNING",
    })

    async def run(*args: str) -> subprocess.CompletedProcess[str]:
        return await asyncio.to_thread(subprocess.run, [str(SCRIPT), *args], env=env, cwd=tmp_path,
                                       capture_output=True, text=True, timeout=120)

    return run


async def test_cli_rotates_a_federations_card_key(flexunion, owner, federation: Federation) -> None:
    fed_id = federation.ids[federation.hq]
    [before] = await card_keys(owner, fed_id)
    done = await flexunion("keys", "rotate", "--federation", federation.hq)
    assert done.returncode == 0, done.stderr
    after = {k.kid: k.status for k in await card_keys(owner, fed_id)}
    [new_kid] = [kid for kid, status in after.items() if status == "active"]
    assert done.stdout.strip() == f"active card key of {federation.hq}: {new_kid}"
    assert after[before.kid] == "retired"
    for code in (federation.regions[0], "no-such-federation"):
        refused = await flexunion("keys", "rotate", "--federation", code)
        assert refused.returncode == 1 and code in refused.stderr


async def test_cli_apply_and_migrate_create_missing_card_keys(
    flexunion, owner, tmp_path: Path,
) -> None:
    from flexunion.federation.models import Tenant

    prefix = "t" + secrets.token_hex(4)
    folder = tmp_path / "tenants" / prefix
    folder.mkdir(parents=True)
    (folder / "federation.yaml").write_text(
        yaml.safe_dump(federation_spec(prefix, regions=1, stations=1), allow_unicode=True))
    done = await flexunion("tenants", "apply", str(tmp_path / "tenants"))
    assert done.returncode == 0, done.stderr
    async with owner() as s:
        fed_id = await s.scalar(select(Tenant.id).where(Tenant.code == f"{prefix}-hq"))
    [key] = await card_keys(owner, fed_id)
    assert key.status == "active"
    # Lose it (revoked), then `migrate` makes a new one.
    async with owner() as s, s.begin():
        await s.execute(update(SigningKey).where(SigningKey.kid == key.kid)
                        .values(status="revoked"))
    assert (await flexunion("migrate")).returncode == 0
    statuses = sorted(k.status for k in await card_keys(owner, fed_id))
    assert statuses == ["active", "revoked"]

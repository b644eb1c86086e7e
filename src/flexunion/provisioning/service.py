"""Federations as files, applied like `kubectl apply`: plan first, then apply.

A federation is a folder with `federation.yaml`; a folder of such folders (`tenants/`)
holds several. Every file is read and checked before the database is touched; apply runs
in the caller's single transaction, creates and updates only what differs (a second apply
changes nothing) and never deletes. Each file that changed something is audited, and every
federation in the files gets its card key (auth) if it has none. A `calendar.yaml` beside a
`federation.yaml` is the federation's working calendar (calendars/apply.py); a
`referral-providers.yaml` its mediation and legal aid providers (cases/referrals/files.py); a
`platform-rules.yaml` entries of its platform rules register (contracts/rules/files.py); a
`clause-templates.yaml` HQ's clause templates (contracts/templates/files.py); a
`services.yaml` HQ's service catalogue (services/catalogue/files.py); a
`service-groups.yaml` its service groups (services/groups/files.py); a
`service-triggers.yaml` its trigger rule sets (services/triggers/files.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from flexunion.audit import service as audit
from flexunion.auth.keys import ensure_card_keys
from flexunion.calendars import apply as calendar_apply
from flexunion.calendars import files as calendar_files
from flexunion.calendars.schemas import CalendarFile
from flexunion.cases.referrals import files as provider_files
from flexunion.contracts.rules import files as rule_files
from flexunion.contracts.templates import files as template_files
from flexunion.core.errors import OperatorError
from flexunion.core.secrets import Keyring
from flexunion.federation import tree
from flexunion.geo import files as geo_files
from flexunion.provisioning.schemas import FederationSpec, Plan
from flexunion.services.catalogue import files as service_files
from flexunion.services.groups import files as group_files
from flexunion.services.triggers import files as trigger_files

FILE_NAME = "federation.yaml"
T = TypeVar("T")


class FederationFileError(OperatorError):
    """A federation file that cannot be applied; the message names the file and field."""


def load_file(path: Path) -> FederationSpec:
    try:
        spec = msgspec.yaml.decode(path.read_bytes(), type=FederationSpec)
    except msgspec.ValidationError as exc:
        raise FederationFileError(f"{path}: {exc}") from exc
    except msgspec.DecodeError as exc:
        raise FederationFileError(f"{path}: not valid YAML: {exc}") from exc
    try:
        tree.check(path, spec)
    except OperatorError as exc:
        raise FederationFileError(str(exc)) from exc
    return spec


def federation_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        raise FederationFileError(f"{directory}: not a folder")
    own = directory / FILE_NAME
    if own.is_file():
        return [own]
    found = sorted(p / FILE_NAME for p in directory.iterdir() if (p / FILE_NAME).is_file())
    if not found:
        raise FederationFileError(f"{directory}: no {FILE_NAME} here or in its sub-folders")
    return found


def load_calendar(path: Path) -> CalendarFile | None:
    """The calendar file beside a federation file, if there is one."""
    found = path.parent / calendar_files.FILE_NAME
    if not found.is_file():
        return None
    try:
        return calendar_files.load(found)
    except OperatorError as exc:
        raise FederationFileError(str(exc)) from exc


def beside(load: Callable[[Path], T | None], path: Path) -> T | None:
    """A file that lives beside a federation file (its providers, platform rules, clause
    templates, service catalogue, groups, trigger rules), read by its domain's `load_beside`,
    if there is one; a bad file is this federation file's error."""
    try:
        return load(path)
    except OperatorError as exc:
        raise FederationFileError(str(exc)) from exc


# Each file beside a federation file, in the order apply plans them.
BESIDE = (provider_files.load_beside, rule_files.load_beside, template_files.load_beside,
          service_files.load_beside, group_files.load_beside, trigger_files.load_beside)


def load_all(directory: Path) -> list[tuple[Path, FederationSpec]]:
    """Read and check every file before touching the database; a tenant code may appear in
    only one file (else plan would promise creates that apply cannot do)."""
    loaded = [(path, load_file(path)) for path in federation_files(directory)]
    for path, _ in loaded:
        load_calendar(path)  # checked before the database is touched
        for load in BESIDE:
            beside(load, path)
    owner: dict[str, tuple[Path, str]] = {}
    for path, spec in loaded:
        for code, where in tree.tenant_codes(spec).items():
            if code in owner:
                first, first_where = owner[code]
                raise FederationFileError(
                    f"{path}: {where}: code '{code}' is also declared in {first} at {first_where}")
            owner[code] = (path, where)
    return loaded


def plan_count(changes: list[tree.Change], action: str) -> int:
    return sum(c.action == action for c in changes)


async def _run(session: AsyncSession, directory: Path, apply: bool) -> Plan:
    plan = Plan()
    for path, spec in load_all(directory):
        try:
            result = await tree.plan(session, path, spec, apply=apply)
            plan.warnings += geo_files.warnings(path, spec.areas)
            changes = result.changes
            await geo_files.plan(
                session, path, spec.areas, spec.service_points, result.federation_id,
                result.tenants, result.partner_ids, apply,
                lambda *args, changes=changes: changes.append(tree.Change(*args)))
            calendar = load_calendar(path)
            if calendar is not None:
                await calendar_apply.plan(
                    session, path.parent / calendar_files.FILE_NAME, calendar,
                    result.federation_id, spec.federation.code, result.tenants, apply,
                    lambda *args, changes=changes: changes.append(tree.Change(*args)))
            providers = beside(provider_files.load_beside, path)
            if providers is not None:
                await provider_files.plan(
                    session, path.parent / provider_files.FILE_NAME, providers,
                    result.federation_id, result.tenants, apply,
                    lambda *args, changes=changes: changes.append(tree.Change(*args)))
            rules = beside(rule_files.load_beside, path)
            if rules is not None:
                await rule_files.plan(
                    session, path.parent / rule_files.FILE_NAME, rules, result.federation_id,
                    result.partner_ids, apply,
                    lambda *args, changes=changes: changes.append(tree.Change(*args)))
            templates = beside(template_files.load_beside, path)
            if templates is not None:
                await template_files.plan(
                    session, templates, result.federation_id, apply,
                    lambda *args, changes=changes: changes.append(tree.Change(*args)))
            services = beside(service_files.load_beside, path)
            if services is not None:
                await service_files.plan(
                    session, services, result.federation_id, apply,
                    lambda *args, changes=changes: changes.append(tree.Change(*args)))
            groups = beside(group_files.load_beside, path)
            if groups is not None and await group_files.plan(
                    session, groups, result.federation_id, apply,
                    lambda *args, changes=changes: changes.append(tree.Change(*args))) and apply:
                await group_files.reevaluate(session, result.federation_id)
            triggers = beside(trigger_files.load_beside, path)
            if triggers is not None:
                await trigger_files.plan(
                    session, triggers, result.federation_id, apply,
                    lambda *args, changes=changes: changes.append(tree.Change(*args)))
        except OperatorError as exc:
            raise FederationFileError(str(exc)) from exc
        plan.changes += result.changes
        plan.federation_ids.append(result.federation_id)
        if apply and any(c.action in ("create", "update") for c in result.changes):
            await audit.record(
                session, "federation.applied", tenant_id=result.federation_id,
                object_type="federation", object_id=spec.federation.code,
                payload={"file": path.name, "created": plan_count(result.changes, "create"),
                         "updated": plan_count(result.changes, "update")})
    return plan


async def plan_directory(session: AsyncSession, directory: Path) -> Plan:
    """What `apply_directory` would change; changes nothing."""
    return await _run(session, directory, apply=False)


async def apply_directory(
    session: AsyncSession, directory: Path, keyring: Keyring | None = None
) -> Plan:
    """Apply, then give every federation in the files a card key if it has none (sealed with
    `keyring`, or the one this owner process used for its keys; see auth/keys.py)."""
    plan = await _run(session, directory, apply=True)
    await ensure_card_keys(session, keyring, plan.federation_ids)
    return plan

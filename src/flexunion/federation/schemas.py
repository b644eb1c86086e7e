from __future__ import annotations

import uuid
from typing import Annotated, Literal

import msgspec

# Patterns end in `(?!\n)$`: Python's bare `$` also matches before a trailing newline (a
# YAML block scalar "abc\n" would pass and then fail PostgreSQL's CHECK), and `\Z` means
# nothing to the JavaScript validators that read the OpenAPI document; this reads the same
# in both.
Code = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9-]{1,62}(?!\n)$")]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Adcode = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{6}(?!\n)$")]


class TenantRead(msgspec.Struct):
    id: uuid.UUID
    code: str
    kind: Literal["hq", "regional", "station"]
    name_zh: str
    name_en: str
    federation_id: uuid.UUID
    parent_id: uuid.UUID | None = None
    adcode: str | None = None
    city: str | None = None
    partner_code: str | None = None
    address: str | None = None


class PartnerRead(msgspec.Struct):
    id: uuid.UUID
    code: str
    name_zh: str
    name_en: str


class DirectoryItem(msgspec.Struct):
    """A union or station of the federation, as a worker choosing where to join sees it."""

    code: str
    kind: str
    name_zh: str
    name_en: str
    city: str | None
    parent_code: str | None
    partner_code: str | None


# ---- the tree as a file declares it (tenants/<fed>/federation.yaml) ----------------------


class PartnerSpec(msgspec.Struct, forbid_unknown_fields=True):
    code: Code
    name_zh: Name
    name_en: Name


class StationSpec(msgspec.Struct, forbid_unknown_fields=True):
    code: Code
    name_zh: Name
    name_en: Name
    partner: Code
    address: Annotated[str, msgspec.Meta(min_length=1, max_length=300)]


class RegionSpec(msgspec.Struct, forbid_unknown_fields=True):
    code: Code
    name_zh: Name
    name_en: Name
    adcode: Adcode
    city: Name
    stations: list[StationSpec] = []


class HqSpec(msgspec.Struct, forbid_unknown_fields=True):
    code: Code
    name_zh: Name
    name_en: Name


class TreeSpec(msgspec.Struct, forbid_unknown_fields=True):
    """HQ, its partners, its regional unions and their stations."""

    federation: HqSpec
    partners: list[PartnerSpec] = []
    regions: list[RegionSpec] = []

"""Resident identity numbers (居民身份证号): validated with python-stdnum, never stored
or shown whole. Stored as a keyed hash (de-duplication), sealed ciphertext, and a mask."""

from __future__ import annotations

from datetime import date

from stdnum.cn import ric
from stdnum.exceptions import ValidationError

from flexunion.core.errors import InvalidInput
from flexunion.core.secrets import Keyring

ID_HASH = "resident-id"
ID_SEAL = "resident-id"
NAME_SEAL = "real-name"
MIN_AGE = 16  # 劳动法: the minimum working age


def normalise_id(raw: str, today: date) -> str:
    try:
        number = ric.validate(raw.strip())
    except ValidationError as exc:
        raise InvalidInput("身份证号无效（校验位、地区码或出生日期不对）。",
                           "The resident ID number is not valid (checksum, region or birth date).",
                           code="id_number_invalid") from exc
    born = ric.get_birth_date(number)
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    if born > today or age < MIN_AGE:
        raise InvalidInput(f"年满 {MIN_AGE} 周岁方可入会。",
                           f"Members must be at least {MIN_AGE} years old.",
                           code="id_number_invalid")
    return number.upper()


def demographics(number: str) -> dict[str, object]:
    """What the service groups need of a (valid) resident ID and nothing more: the first day
    of the birth month, and sex from the 17th digit (odd: male)."""
    born = ric.get_birth_date(number)
    return {"birth_month": date(born.year, born.month, 1),
            "sex": "M" if int(number[16]) % 2 else "F"}


def mask_id(number: str) -> str:
    """3101**********123X: region prefix and last four, nothing of the birth date."""
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def mask_name(name: str) -> str:
    """张三 → 张*, 欧阳娜娜 → 欧***."""
    name = name.strip()
    return name[:1] + "*" * max(len(name) - 1, 1)


def seal_identity(keyring: Keyring, number: str, name: str) -> dict[str, object]:
    return {
        "id_hash": keyring.keyed_hash(ID_HASH, number),
        "id_cipher": keyring.seal(ID_SEAL, number.encode()),
        "id_masked": mask_id(number),
        "name_cipher": keyring.seal(NAME_SEAL, name.strip().encode()),
        "name_masked": mask_name(name),
    }

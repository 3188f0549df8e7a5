"""How a person's name is written from its parts, the same for customers
(customers/normalize.py) and staff (accounts/templatetags/staff.py): Chinese names family
name first without a space, others given name first."""

from __future__ import annotations

import re

# Chinese characters: CJK unified ideographs (basic, extension A, extensions B and later),
# compatibility ideographs, and the ideographic zero.
HAN = "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U000323af"
HAN_CHARACTER = re.compile(f"[{HAN}]")


def is_han(char: str) -> bool:
    """Whether `char` (one character, or the start of a text) is a Chinese character."""
    return bool(HAN_CHARACTER.match(char))


def join_person_name(family_name: str, given_name: str) -> str:
    """The full name as it is written: "王丽娟" for Chinese names (family first, no space),
    "Anna Schmidt" otherwise (given first). Either part may be empty."""
    family_name, given_name = family_name.strip(), given_name.strip()
    if family_name and given_name and is_han(family_name[0]) and is_han(given_name[0]):
        return family_name + given_name
    return " ".join(part for part in (given_name, family_name) if part)

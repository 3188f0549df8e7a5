"""Names written from their parts (kernel.person_names), for customers and staff alike."""

import pytest

from accounts.templatetags.staff import staff_name
from kernel.person_names import join_person_name
from tests.factories import UserFactory


@pytest.mark.parametrize(
    ("family", "given", "expected"),
    [
        ("王", "丽娟", "王丽娟"),
        ("欧阳", "娜娜", "欧阳娜娜"),
        ("Schmidt", "Anna", "Anna Schmidt"),
        ("", "Anna", "Anna"),
        ("王", "", "王"),
        ("", "", ""),
    ],
)
def test_join_person_name_writes_chinese_names_family_first_without_space(family, given, expected):
    assert join_person_name(family, given) == expected


def test_staff_are_named_as_colleagues_know_them_else_by_user_name():
    assert staff_name(UserFactory.build(last_name="王", first_name="丽娟")) == "王丽娟"
    assert staff_name(UserFactory.build(username="anna", last_name="", first_name="")) == "anna"
    assert staff_name(None) == ""

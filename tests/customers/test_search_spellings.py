"""The search box finds a Chinese name from its pinyin in either order, and an email from a
fragment without "@", the latter only among customers whose personal data the user may see."""

import pytest

from customers.selectors import search_customers
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("query", ["yujiawei", "Yu Jiawei", "YU Jiawei", "jiawei yu", "Yu Jia-wei"])
def test_a_chinese_name_is_found_from_its_pinyin_in_either_order(admin_user_role, query):
    yu = CustomerFactory(name="于家伟")
    CustomerFactory(name="余佳")
    # The same letters in another order are another name.
    CustomerFactory(name="魏家宇")
    assert list(search_customers(user=admin_user_role, query=query)) == [yu]


def test_a_latin_name_is_found_in_either_order(admin_user_role):
    anna = CustomerFactory(name="Anna Schmidt")
    assert list(search_customers(user=admin_user_role, query="schmidt anna")) == [anna]


def test_an_email_fragment_without_at_finds_emails_and_names(admin_user_role):
    zhang = CustomerFactory(name="张伟", email="zhang.wei@gmail.com")
    CustomerFactory(name="王芳", email="wangfang@qq.com")
    gmail_shop = CustomerFactory(name="Gmail Fans Club", kind="company")
    assert set(search_customers(user=admin_user_role, query="gmail")) == {zhang, gmail_shop}
    assert list(search_customers(user=admin_user_role, query="zhang.wei")) == [zhang]
    assert list(search_customers(user=admin_user_role, query="ZHANG.WEI")) == [zhang]


def test_an_email_fragment_reaches_only_customers_whose_personal_data_the_user_sees(
    sales_user, other_sales_user
):
    own = CustomerFactory(name="张伟", email="zhang.wei@gmail.com", owner=sales_user)
    unassigned = CustomerFactory(name="王芳", email="wang.fang@gmail.com")
    # A salesperson sees unassigned customers but not their contact details (README.md, Roles).
    assert list(search_customers(user=sales_user, query="gmail")) == [own]
    assert list(search_customers(user=sales_user, query="wang.fang")) == []
    assert list(search_customers(user=other_sales_user, query="gmail")) == []
    # The name is shown to whoever sees the customer, so it finds them.
    assert list(search_customers(user=sales_user, query="Wang Fang")) == [unassigned]

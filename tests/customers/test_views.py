import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from customers import services
from customers.models import Customer, SavedView, Tag
from privacy.models import AuditEvent
from tests.factories import CustomerFactory, InteractionFactory, TransactionFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "typed",
    [
        "138 0013 8000",
        "+86-138-0013-8000",
        "0086 13800138000",
        "８０００",  # last digits, typed in full width
        "ZHANG.wei@QQ.com",
        "zhang.wei@",
        "星辰",
        "张",
        "T-1001",
    ],
)
def test_search_box_opens_the_single_matching_customer(client, service_user, typed):
    wanted = CustomerFactory(
        name="张伟", phone="13800138000", email="zhang.wei@qq.com", company_name="星辰贸易"
    )
    services.add_external_id(actor=None, customer=wanted, system="tmall", external_id="T-1001")
    CustomerFactory(name="李娜", phone="13900139000", email="lina@163.com")
    client.force_login(service_user)
    response = client.post(reverse("customers:list"), {"q": typed})
    assert response["Location"] == reverse("customers:detail", args=[wanted.pk])


def test_search_with_several_matches_lists_them_without_the_query_in_the_url(client, service_user):
    first = CustomerFactory(name="王伟", phone="13800138000")
    second = CustomerFactory(name="王芳", phone="13912348000")
    CustomerFactory(name="李娜", phone="13900139000")
    client.force_login(service_user)
    response = client.post(reverse("customers:list"), {"q": "8000"})
    url = response["Location"]
    assert "8000" not in url
    listed = client.get(url).context["customers"]
    assert {c.pk for c in listed} == {first.pk, second.pk}


def test_list_pages_with_keyset_cursor(client, service_user):
    customers = [CustomerFactory(name=f"Customer {n:03}") for n in range(55)]
    client.force_login(service_user)
    first = client.get(reverse("customers:list"))
    assert len(first.context["customers"]) == 50
    second = client.get(reverse("customers:list") + f"?after={first.context['next_after']}")
    seen = [c.pk for c in first.context["customers"]] + [c.pk for c in second.context["customers"]]
    assert sorted(seen) == sorted(c.pk for c in customers)
    assert second.context["next_after"] is None


def test_analyst_sees_masked_personal_data(client, analyst_user):
    customer = CustomerFactory(phone="13800138000", email="zhangwei@qq.com", street="建国路88号")
    client.force_login(analyst_user)
    page = client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert "138****8000" in page
    assert "13800138000" not in page
    assert "z***@qq.com" in page
    assert "zhangwei@qq.com" not in page
    assert "建国路88号" not in page


def test_sales_sees_unmasked_data_of_own_customer_only(client, sales_user):
    own = CustomerFactory(phone="13800138000", owner=sales_user)
    unassigned = CustomerFactory(phone="13900139000")
    client.force_login(sales_user)
    assert "13800138000" in client.get(reverse("customers:detail", args=[own.pk])).content.decode()
    page = client.get(reverse("customers:detail", args=[unassigned.pk])).content.decode()
    assert "139****9000" in page
    assert "13900139000" not in page


def test_detail_page_query_count_does_not_grow_with_history(
    client, service_user, django_assert_max_num_queries
):
    customer = CustomerFactory()
    client.force_login(service_user)
    url = reverse("customers:detail", args=[customer.pk])
    # 28: the page with its panels (deals, owner and pool, custom fields), plus the audit of
    # its unmasked values (PostgreSQL: chain lock, chain head, insert); the timeline's deal and
    # owner-change sources and the interactions' custom fields add one query each.
    with django_assert_max_num_queries(28) as short_history:
        client.get(url)
    for _ in range(30):
        TransactionFactory(customer=customer)
        InteractionFactory(customer=customer)
    with django_assert_max_num_queries(len(short_history.captured_queries)):
        response = client.get(url)
    assert len(response.context["entries"]) == 20
    assert response.context["next_cursor"] is not None


def test_create_form_shows_field_errors_and_saves_nothing(client, sales_user):
    client.force_login(sales_user)
    response = client.post(
        reverse("customers:create"),
        {
            "kind": "person",
            "name": "Li Lei",
            "phone": "1.38001E+10",
            "lifecycle_stage": "lead",
            "country": "CN",
            "birth_date": "1990-02-30",
        },
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert "Excel" in form.errors["phone"][0]
    assert "birth_date" in form.errors
    assert not Customer.objects.exists()


def test_customer_form_refuses_a_two_million_character_note_with_a_field_error(
    client, service_user
):
    customer = CustomerFactory(name="Anna Schmidt")
    client.force_login(service_user)
    url = reverse("customers:edit", args=[customer.pk])
    page = client.get(url).content.decode()
    assert 'maxlength="10000"' in page
    response = client.post(
        url,
        {
            "kind": "person",
            "name": "Anna Schmidt",
            "lifecycle_stage": "lead",
            "country": "CN",
            "notes": "n" * 2_000_000,
        },
    )
    assert response.status_code == 200
    assert response.context["form"].errors["notes"] == [
        "Ensure this value has at most 10000 characters (it has 2000000)."
    ]
    customer.refresh_from_db()
    assert customer.notes == ""


def test_customer_form_refuses_unreadable_characters_in_the_users_language(client, service_user):
    client.force_login(service_user)
    response = client.post(
        reverse("customers:create"),
        {
            "kind": "person",
            "name": "王\ufffd娟",
            "lifecycle_stage": "lead",
            "country": "CN",
            "city": "上\x1b海",
        },
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert response.status_code == 200
    assert response.context["form"].errors["name"] == ["其中有无法识别的字符，请重新输入。"]
    assert not Customer.objects.exists()
    response = client.post(
        reverse("customers:create"),
        {
            "kind": "person",
            "name": "王丽娟",
            "lifecycle_stage": "lead",
            "country": "CN",
            "city": "上\x1b海",
        },
    )
    assert response.context["form"].errors["city"] == [
        "This contains characters that could not be read. Retype it."
    ]
    assert not Customer.objects.exists()


def test_create_form_saves_through_service_with_owner_for_sales(client, sales_user):
    client.force_login(sales_user)
    response = client.post(
        reverse("customers:create"),
        {
            "kind": "person",
            "name": " 王  芳 ",
            "phone": "139 1234 5678",
            "lifecycle_stage": "lead",
            "country": "CN",
            "birth_date": "1988/7/1",
        },
    )
    customer = Customer.objects.get()
    assert response["Location"] == reverse("customers:detail", args=[customer.pk])
    assert (customer.name, customer.phone, customer.owner) == ("王芳", "+8613912345678", sales_user)
    assert AuditEvent.objects.filter(action="customer.create", actor=sales_user).exists()


def test_edit_form_changes_tags_and_stage(client, service_user):
    vip = Tag.objects.create(name="VIP")
    customer = CustomerFactory(name="Anna Schmidt", email="anna@example.de", country="DE")
    client.force_login(service_user)
    response = client.post(
        reverse("customers:edit", args=[customer.pk]),
        {
            "kind": "person",
            "name": "Anna Schmidt",
            "email": "anna@example.de",
            "lifecycle_stage": "prospect",
            "country": "DE",
            "tags": [vip.pk],
        },
    )
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.lifecycle_stage == "prospect"
    assert list(customer.tags.all()) == [vip]


def test_archive_hides_customer_from_default_list(client, service_user):
    customer = CustomerFactory()
    client.force_login(service_user)
    client.post(reverse("customers:archive", args=[customer.pk]))
    assert list(client.get(reverse("customers:list")).context["customers"]) == []
    archived = client.get(reverse("customers:list") + "?archived=true").context["customers"]
    assert [c.pk for c in archived] == [customer.pk]


@pytest.mark.parametrize("order", ["name", "last_activity", "newest"])
def test_every_sort_order_pages_through_all_customers_once(client, service_user, order):
    now = timezone.now()
    for n in range(120):
        customer = CustomerFactory(name=f"Kunde {n % 7} {n:03}")
        if n % 3:  # a third never active: they come last in "last activity" order
            services.record_activity(
                customer_id=customer.pk, at=now - datetime.timedelta(hours=n % 11)
            )
    client.force_login(service_user)
    seen, after = [], ""
    while True:
        page = client.get(reverse("customers:list"), {"order": order, "after": after}).context
        seen += list(page["customers"])
        if page["next_after"] is None:
            break
        after = page["next_after"]
    assert len(seen) == 120
    assert len({c.pk for c in seen}) == 120
    if order == "name":
        assert [c.name for c in seen] == sorted(c.name for c in seen)
    if order == "last_activity":
        stamps = [c.last_activity_at for c in seen]
        active = [s for s in stamps if s is not None]
        assert active == sorted(active, reverse=True)
        assert stamps[len(active) :] == [None] * (120 - len(active))


def test_filters_by_consent_and_created_range(client, service_user):
    consenting = CustomerFactory(consent_sms=True)
    CustomerFactory()
    client.force_login(service_user)
    found = client.get(reverse("customers:list"), {"consent": "consent_sms"}).context["customers"]
    assert [c.pk for c in found] == [consenting.pk]
    today = timezone.localdate().isoformat()
    in_range = client.get(
        reverse("customers:list"), {"created_after": today, "created_before": today}
    ).context["customers"]
    assert len(in_range) == 2
    assert not client.get(reverse("customers:list"), {"created_before": "2000-01-01"}).context[
        "customers"
    ]


def test_broad_search_shows_the_newest_matches_and_says_so(client, service_user, monkeypatch):
    monkeypatch.setattr("customers.views.SEARCH_RESULT_LIMIT", 3)
    monkeypatch.setattr("customers.filters.SEARCH_RESULT_LIMIT", 3)
    created = [CustomerFactory(name=f"王{n}号") for n in range(5)]
    client.force_login(service_user)
    url = client.post(reverse("customers:list"), {"q": "王"})["Location"]
    response = client.get(url)
    assert [c.pk for c in response.context["customers"]] == [c.pk for c in created[:1:-1]]
    assert "Showing the newest 3 matches" in response.content.decode()


def _warned_of(response) -> list[int]:
    likely = [match.customer.pk for match in response.context["likely"]]
    return likely + [customer.pk for customer in response.context["duplicates"]]


def test_form_warns_of_possible_duplicates_by_phone_email_or_id_number(
    client, admin_user_role, service_user
):
    same_phone = CustomerFactory(name="王伟", phone="13800138000")
    same_id = CustomerFactory(
        name="李娜", id_document_kind="cn_resident", id_number="11010519491231002X"
    )
    url = reverse("customers:possible_duplicates")
    # Identity numbers are matched only for those who may reveal them: Service sees phones
    # unmasked, but an identity number always masked.
    client.force_login(service_user)
    by_id = {"id_document_kind": "cn_resident", "id_number": "11010519491231002X"}
    assert _warned_of(client.post(url, by_id)) == []
    client.force_login(admin_user_role)
    assert _warned_of(client.post(url, {"phone": "+86 138-0013-8000"})) == [same_phone.pk]
    found = client.post(
        url, {"id_document_kind": "cn_resident", "id_number": "110105194912310 02x"}
    )
    assert _warned_of(found) == [same_id.pk]
    # Editing a customer does not warn about the customer itself; bad input warns of nothing.
    assert not _warned_of(client.post(url, {"phone": "13800138000", "customer": same_phone.pk}))
    assert not _warned_of(client.post(url, {"phone": "12345", "email": "nope@"}))


def test_form_warns_of_the_same_person_written_another_way(client, sales_user):
    """The check at the door scores with the duplicate model: a homophone name with the same
    birth date and city is a likely duplicate, with the reasons shown; a family member sharing
    the phone is mentioned only as sharing it."""
    same_person = CustomerFactory(
        name="张伟",
        birth_date=datetime.date(1985, 3, 2),
        city="杭州",
        phone="13900001111",
        owner=sales_user,
    )
    client.force_login(sales_user)
    url = reverse("customers:possible_duplicates")
    response = client.post(url, {"name": "章伟", "birth_date": "1985-03-02", "city": "杭州"})
    [match] = response.context["likely"]
    assert match.customer.pk == same_person.pk
    assert match.probability >= 0.5
    assert [code for code, _ in match.reasons][:2] == ["same_birth_date", "same_name_sound"]
    html = response.content.decode()
    assert "names sound the same" in html
    assert "same birth date" in html
    family = client.post(url, {"name": "张丽", "birth_date": "1990-07-07", "phone": "13900001111"})
    assert not family.context["likely"]
    assert [c.pk for c in family.context["duplicates"]] == [same_person.pk]


def test_customer_page_shows_a_duplicate_warning(client, service_user):
    first = CustomerFactory(name="Anna Schmidt", email="anna@example.de")
    second = CustomerFactory(name="Anna Schmidt-Meyer", email="Anna@Example.de")
    client.force_login(service_user)
    response = client.get(reverse("customers:detail", args=[first.pk]))
    assert [c.pk for c in response.context["duplicates"]] == [second.pk]
    assert "Possible duplicate" in response.content.decode()


def test_bulk_actions_tag_assign_and_restage_only_what_the_user_may_edit(
    client, sales_user, other_sales_user, service_user
):
    vip = Tag.objects.create(name="VIP")
    mine = CustomerFactory(owner=sales_user)
    unassigned = CustomerFactory()
    theirs = CustomerFactory(owner=other_sales_user)
    ids = [mine.pk, unassigned.pk, theirs.pk]
    client.force_login(sales_user)
    url = reverse("customers:bulk")
    response = client.post(url, {"action": "add_tag", "tag": vip.pk, "customer": ids})
    assert response["Location"] == reverse("customers:list")
    assert set(vip.customers.all()) == {mine, unassigned}
    client.post(url, {"action": "change_stage", "lifecycle_stage": "prospect", "customer": ids})
    stages = dict(Customer.objects.values_list("pk", "lifecycle_stage"))
    assert stages == {mine.pk: "prospect", unassigned.pk: "prospect", theirs.pk: "lead"}
    # Sales work on their own customers: handing customers to someone is not theirs to do.
    assert (
        client.post(
            url, {"action": "assign_owner", "owner": sales_user.pk, "customer": ids}
        ).status_code
        == 403
    )
    client.force_login(service_user)
    client.post(url, {"action": "assign_owner", "owner": service_user.pk, "customer": ids})
    assert set(Customer.objects.values_list("owner", flat=True)) == {service_user.pk}
    assert AuditEvent.objects.filter(action="customer.tags").count() == 2
    assert AuditEvent.objects.filter(action="customer.update", actor=service_user).count() == 3


def test_bulk_action_without_its_value_changes_nothing(client, service_user):
    customer = CustomerFactory()
    client.force_login(service_user)
    response = client.post(
        reverse("customers:bulk"), {"action": "add_tag", "customer": [customer.pk]}, follow=True
    )
    assert "Choose what to apply." in response.content.decode()
    assert not customer.tags.exists()


def test_analyst_has_no_bulk_actions(client, analyst_user):
    CustomerFactory()
    client.force_login(analyst_user)
    assert client.get(reverse("customers:list")).context["bulk_form"] is None
    assert client.post(reverse("customers:bulk"), {"action": "add_tag"}).status_code == 403


def test_saved_views_keep_filters_and_order_and_can_be_shared(client, sales_user, service_user):
    client.force_login(sales_user)
    response = client.post(
        reverse("customers:save_view"),
        {
            "name": " VIP leads ",
            "is_shared": "on",
            "query": "lifecycle_stage=lead&order=name&search=abc&after=9",
        },
    )
    view = SavedView.objects.get()
    assert (view.name, view.owner, view.is_shared) == ("VIP leads", sales_user, True)
    assert view.query == "lifecycle_stage=lead&order=name"
    assert response["Location"] == reverse("customers:list") + "?" + view.query
    client.force_login(service_user)
    listed = client.get(reverse("customers:list")).context["saved_views"]
    assert listed == [view]
    # Only the owner deletes a view; to others it does not exist.
    assert client.post(reverse("customers:delete_view", args=[view.pk])).status_code == 404
    client.force_login(sales_user)
    client.post(reverse("customers:delete_view", args=[view.pk]))
    assert not SavedView.objects.exists()


def test_a_view_needs_a_name(client, sales_user):
    client.force_login(sales_user)
    response = client.post(
        reverse("customers:save_view"), {"name": " ", "query": "order=name"}, follow=True
    )
    assert "Give the view a name." in response.content.decode()
    assert not SavedView.objects.exists()


def test_editing_in_place_sends_only_the_form_and_redirects_through_htmx(client, service_user):
    customer = CustomerFactory(name="Anna Schmidt", country="DE")
    client.force_login(service_user)
    url = reverse("customers:edit", args=[customer.pk])
    panel = client.get(url, HTTP_HX_REQUEST="true")
    assert panel.templates[0].name == "customers/_customer_form.html"
    response = client.post(
        url,
        {"kind": "person", "name": "Anna Schmidt", "lifecycle_stage": "prospect", "country": "DE"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 204
    assert response["HX-Redirect"] == reverse("customers:detail", args=[customer.pk])
    invalid = client.post(
        url, {"kind": "person", "name": "", "country": "DE"}, HTTP_HX_REQUEST="true"
    )
    assert invalid.status_code == 200
    assert "name" in invalid.context["form"].errors


def test_adding_a_contact_person_from_the_customer_page(client, sales_user, analyst_user):
    company = CustomerFactory(kind="company", name="上海星辰贸易有限公司", owner=sales_user)
    url = reverse("customers:add_contact", args=[company.pk])
    client.force_login(analyst_user)
    assert client.get(url).status_code == 403
    client.force_login(sales_user)
    client.post(
        url,
        {
            "name": "王 芳",
            "title": "采购经理",
            "decision_role": "decision_maker",
            "phone": "021-6552 9988",
            "email": "",
            "is_primary": "on",
        },
    )
    contact = company.contacts.get()
    assert (contact.name, contact.phone, contact.is_primary) == ("王芳", "+862165529988", True)
    assert AuditEvent.objects.filter(action="contact.create", actor=sales_user).exists()


def test_sales_bulk_form_offers_no_owner_assignment(client, sales_user, service_user):
    CustomerFactory(owner=sales_user)
    client.force_login(sales_user)
    form = client.get(reverse("customers:list")).context["bulk_form"]
    assert "owner" not in form.fields
    assert "assign_owner" not in dict(form.fields["action"].choices)
    client.force_login(service_user)
    assert "owner" in client.get(reverse("customers:list")).context["bulk_form"].fields


def test_a_search_with_characters_nobody_types_finds_no_one_without_failing(client, sales_user):
    CustomerFactory(name="王伟", owner=sales_user)
    client.force_login(sales_user)
    response = client.post("/customers/", {"q": "王\ufffd"}, follow=True)
    assert response.status_code == 200
    assert list(response.context["customers"]) == []

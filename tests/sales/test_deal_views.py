"""The deal pages through the test client: scope, query counts, the board's move endpoint,
the won step, the export's masking and audit."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.utils import timezone

from interactions.models import Product, Transaction
from privacy.models import AuditEvent
from sales.deals import selectors, services
from sales.models import Deal, Stage
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def stage(name: str) -> Stage:
    return Stage.objects.get(pipeline__is_default=True, name=name)


def make_deals(user, count: int, **fields):
    customer = CustomerFactory(owner=user, phone="13812345678", **fields)
    return [
        services.create_deal(actor=user, customer=customer, title=f"Deal {n}", amount=100 + n)
        for n in range(count)
    ]


def test_board_shows_columns_with_counts_in_bounded_queries(
    client, sales_user, django_assert_max_num_queries
):
    make_deals(sales_user, 6)
    client.force_login(sales_user)
    client.get("/deals/")  # warm the session and permission caches
    with django_assert_max_num_queries(20):
        response = client.get("/deals/")
    assert response.status_code == 200
    body = response.content.decode()
    assert body.count('class="deal-card') == 6
    assert "Lead" in body
    assert "Negotiation" in body


def test_list_and_board_query_counts_do_not_grow_with_deals(
    client, sales_user, django_assert_max_num_queries
):
    make_deals(sales_user, 3)
    client.force_login(sales_user)
    client.get("/deals/list/")
    with django_assert_max_num_queries(15) as few:
        client.get("/deals/list/")
    make_deals(sales_user, 20)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("/deals/list/")
    assert response.content.decode().count("/deals/") >= 23


def test_board_won_column_shows_recent_wins_labelled_and_links_to_all_of_them(client, sales_user):
    old, recent = make_deals(sales_user, 2)
    for deal in (old, recent):
        services.win_deal(actor=sales_user, deal=deal, record_purchase=False)
    Deal.objects.filter(pk=old.pk).update(
        closed_at=selectors.recently_closed_since() - datetime.timedelta(days=1)
    )
    client.force_login(sales_user)
    body = client.get("/deals/").content.decode()
    assert "Deal 1" in body
    assert "Deal 0" not in body
    assert "last 30 days" in body
    won = stage("Won")
    assert f'href="/deals/list/?stage={won.pk}" data-all-closed' in body
    # The won card's move form offers every stage, its own selected.
    assert f'<option value="{won.pk}" selected>Won</option>' in body
    assert f'<option value="{stage("Lead").pk}">Lead</option>' in body
    listed = client.get(f"/deals/list/?stage={won.pk}").content.decode()
    assert "Deal 0" in listed
    assert "Deal 1" in listed
    assert "近30天" in client.get("/deals/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()


def test_board_with_a_close_month_shows_every_deal_closed_in_it_without_window(client, sales_user):
    (deal,) = make_deals(sales_user, 1)
    services.update_deal(actor=sales_user, deal=deal, expected_close_date=datetime.date(2024, 3, 5))
    services.win_deal(actor=sales_user, deal=deal, record_purchase=False)
    Deal.objects.filter(pk=deal.pk).update(closed_at=timezone.now() - datetime.timedelta(days=400))
    client.force_login(sales_user)
    body = client.get("/deals/?close_month=2024-03").content.decode()
    assert "Deal 0" in body
    assert "last 30 days" not in body
    assert "Deal 0" not in client.get("/deals/").content.decode()


def test_a_deal_of_another_salesperson_answers_404_everywhere(client, sales_user, other_sales_user):
    (deal,) = make_deals(other_sales_user, 1)
    client.force_login(sales_user)
    for path in (f"/deals/{deal.pk}/", f"/deals/{deal.pk}/edit/", f"/deals/{deal.pk}/win/"):
        assert client.get(path).status_code == 404, path
    assert client.post(f"/deals/{deal.pk}/move/", {"stage": stage("Won").pk}).status_code == 404
    assert "Deal 0" not in client.get("/deals/").content.decode()


def test_create_deal_for_a_customer_with_lines(client, sales_user):
    customer = CustomerFactory(owner=sales_user)
    product = Product.objects.create(sku="P1", name="Desk", price=Decimal("1000"))
    client.force_login(sales_user)
    assert client.get(f"/deals/new/?customer={customer.pk}").status_code == 200
    response = client.post(
        f"/deals/new/?customer={customer.pk}",
        {
            "title": "Desks",
            "amount": "",
            "currency": "CNY",
            "stage": stage("Qualified").pk,
            "lines-TOTAL_FORMS": "2",
            "lines-INITIAL_FORMS": "0",
            "lines-0-product": product.pk,
            "lines-0-quantity": "3",
            "lines-0-unit_price": "1000",
        },
    )
    deal = Deal.objects.get(title="Desks")
    assert response.status_code == 302
    assert response["Location"] == f"/deals/{deal.pk}/"
    assert deal.amount == Decimal("3000.00")
    assert deal.stage == stage("Qualified")
    assert deal.owner == sales_user
    page = client.get(f"/customers/{customer.pk}/").content.decode()
    assert "Desks" in page


def test_customer_search_for_a_new_deal_finds_only_visible_customers(
    client, sales_user, other_sales_user
):
    CustomerFactory(owner=sales_user, name="Zhou Furniture")
    CustomerFactory(owner=other_sales_user, name="Zhou Kitchens")
    client.force_login(sales_user)
    body = client.get("/deals/new/?q=Zhou").content.decode()
    assert "Zhou Furniture" in body
    assert "Zhou Kitchens" not in body


def test_move_endpoint_answers_json_for_the_board_and_asks_for_the_won_step(client, sales_user):
    (deal,) = make_deals(sales_user, 1)
    client.force_login(sales_user)
    answer = client.post(
        f"/deals/{deal.pk}/move/", {"stage": stage("Proposal").pk}, HTTP_ACCEPT="application/json"
    ).json()
    assert answer == {"next": ""}
    deal.refresh_from_db()
    assert deal.stage == stage("Proposal")
    answer = client.post(
        f"/deals/{deal.pk}/move/", {"stage": stage("Won").pk}, HTTP_ACCEPT="application/json"
    ).json()
    assert answer["next"].startswith(f"/deals/{deal.pk}/win/")
    deal.refresh_from_db()
    assert deal.stage == stage("Proposal")  # not won until the step is confirmed
    answer = client.post(
        f"/deals/{deal.pk}/move/", {"stage": stage("Lost").pk}, HTTP_ACCEPT="application/json"
    ).json()
    assert answer["next"].startswith(f"/deals/{deal.pk}/move/")


def test_lost_without_a_reason_is_asked_again_and_with_one_is_recorded(client, sales_user):
    (deal,) = make_deals(sales_user, 1)
    client.force_login(sales_user)
    response = client.post(f"/deals/{deal.pk}/move/", {"stage": stage("Lost").pk})
    assert response.status_code == 302
    assert "/move/" in response["Location"]
    response = client.post(
        f"/deals/{deal.pk}/move/", {"stage": stage("Lost").pk, "lost_reason": "Budget cut"}
    )
    deal.refresh_from_db()
    assert deal.lost_reason == "Budget cut"


def test_won_step_posted_twice_records_one_purchase(client, sales_user):
    (deal,) = make_deals(sales_user, 1)
    client.force_login(sales_user)
    for _ in range(2):
        response = client.post(
            f"/deals/{deal.pk}/win/?stage={stage('Won').pk}",
            {"record_purchase": "on", "channel": "store"},
        )
        assert response.status_code == 302
    assert Transaction.objects.filter(customer=deal.customer).count() == 1
    deal.refresh_from_db()
    assert deal.purchase.amount == deal.amount


def test_export_masks_phones_the_user_may_not_see_and_is_audited(
    client, analyst_user, admin_user_role, sales_user
):
    make_deals(sales_user, 2)
    client.force_login(analyst_user)
    response = client.get("/deals/export/csv/")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert len(rows) == 3
    phone_column = rows[0].index("Customer phone")
    assert "13812345678" not in rows[1][phone_column]
    assert "*" in rows[1][phone_column]
    assert AuditEvent.objects.filter(action="deal.export", actor=analyst_user).exists()
    client.force_login(admin_user_role)
    response = client.get("/deals/export/csv/")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert "+8613812345678" in text or "13812345678" in text
    xlsx = client.get("/deals/export/xlsx/")
    assert xlsx.status_code == 200
    assert b"".join(xlsx.streaming_content)[:2] == b"PK"


def test_pipelines_page_adds_a_pipeline_and_a_stage(client, admin_user_role):
    client.force_login(admin_user_role)
    response = client.post(
        "/deals/pipelines/", {"new-name": "Projects", "new-name_zh": "项目", "new-ordering": 2}
    )
    assert response.status_code == 302
    pipeline_url = response["Location"]
    response = client.post(
        pipeline_url,
        {
            "part": "stage-new",
            "stage-new-name": "Demo",
            "stage-new-name_zh": "演示",
            "stage-new-order": 20,
            "stage-new-win_probability": 40,
            "stage-new-kind": "open",
        },
    )
    assert response.status_code == 302
    assert Stage.objects.filter(name="Demo", pipeline__name="Projects").exists()
    response = client.post(
        pipeline_url,
        {
            "part": "stage-new",
            "stage-new-name": "Bad",
            "stage-new-order": 1,
            "stage-new-win_probability": 140,
            "stage-new-kind": "open",
        },
    )
    assert response.status_code == 400
    assert not Stage.objects.filter(name="Bad").exists()
    # An existing stage's form, drawn on the page, changes that stage.
    demo = Stage.objects.get(name="Demo")
    assert f'value="stage-{demo.pk}"' in client.get(pipeline_url).content.decode()
    response = client.post(
        pipeline_url,
        {
            "part": f"stage-{demo.pk}",
            f"stage-{demo.pk}-name": "Demo given",
            f"stage-{demo.pk}-order": 20,
            f"stage-{demo.pk}-win_probability": 45,
            f"stage-{demo.pk}-kind": "open",
        },
    )
    demo.refresh_from_db()
    assert (demo.name, demo.win_probability) == ("Demo given", 45)


def test_the_owner_choices_are_the_managers_team_and_everyone_for_who_sees_all(
    client, make_user, sales_user, other_sales_user, admin_user_role
):
    from accounts.models import Team, TeamMembership
    from privacy import roles

    manager = make_user(roles.SALES)
    TeamMembership.objects.create(
        team=Team.objects.create(name="East", manager=manager), user=sales_user
    )
    client.force_login(manager)
    board_choices = client.get("/deals/").context["filter"].form.fields["owner"].queryset
    customer = CustomerFactory(owner=sales_user)
    form_choices = (
        client.get(f"/deals/new/?customer={customer.pk}").context["form"].fields["owner"].queryset
    )
    assert set(board_choices) == set(form_choices) == {manager, sales_user}

    client.force_login(admin_user_role)
    everyone = set(client.get("/deals/").context["filter"].form.fields["owner"].queryset)
    assert {manager, sales_user, other_sales_user} <= everyone
    # A salesperson without a team has no owner filter at all.
    client.force_login(other_sales_user)
    assert "owner" not in client.get("/deals/").context["filter"].form.fields


def test_owners_are_offered_by_name_with_the_user_name_beside_it(
    client, make_user, admin_user_role
):
    from privacy import roles

    colleague = make_user(roles.SALES, username="wlj", last_name="王", first_name="丽娟")
    nameless = make_user(roles.SALES, username="temp7", last_name="", first_name="")
    client.force_login(admin_user_role)
    board = client.get("/deals/").content.decode()
    assert f'<option value="{colleague.pk}">王丽娟 (wlj)</option>' in board
    assert f'<option value="{nameless.pk}">temp7</option>' in board
    customer = CustomerFactory(owner=colleague)
    form = client.get(f"/deals/new/?customer={customer.pk}").content.decode()
    assert "王丽娟 (wlj)</option>" in form

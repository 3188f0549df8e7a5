"""The top bar's search: customers, contacts and tasks grouped, each scoped to what the user may
see, personal data masked as on the list and matched only where the user may see it; the query
never in a URL; the full results page works without JavaScript."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from crm import search
from crm.search import SUGGESTION_LIMIT, SearchRequest, search_everywhere
from customers.models import Contact
from customers.services import save_contact
from interactions.models import FollowUp
from interactions.services import complete_follow_up, schedule_follow_up
from sales.deals.services import create_deal
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

PHONE, EMAIL = "13600000409", "lin.xiaoyu@example.com"
E164 = "+86" + PHONE  # how phones are stored, and what a tel: link dials


def _groups(results):
    return {result.group.kind: result.hits for result in results}


def _task(customer, title, assignee, *, due_in_days=0):
    return schedule_follow_up(
        actor=None,
        customer=customer,
        title=title,
        due_at=timezone.now() + datetime.timedelta(days=due_in_days),
        assignee=assignee,
    )


def _suggest(client, query):
    response = client.post("/search/suggestions/", {"q": query})
    assert response.status_code == 200
    return response.content.decode()


def test_suggestions_are_grouped_customers_contacts_tasks(client, service_user):
    customer = CustomerFactory(name="Acme Trading", phone=PHONE, email=EMAIL)
    save_contact(actor=None, customer=customer, name="Acme buyer Wang", phone="13911112222")
    _task(customer, "Send Acme the quote", service_user, due_in_days=1)
    client.force_login(service_user)
    page = _suggest(client, "acme")
    assert page.index("Customers") < page.index("Contacts") < page.index("Tasks")
    assert "Acme Trading" in page
    assert "Acme buyer Wang" in page
    assert "Send Acme the quote" in page
    assert f'href="/customers/{customer.pk}/"' in page


def test_a_phone_fragment_finds_the_customer_and_contact_for_whoever_sees_phones(
    service_user, sales_user
):
    customer = CustomerFactory(name="林晓雨", phone=PHONE, email=EMAIL)
    save_contact(actor=None, customer=customer, name="王芳", phone="13600000409")
    found = _groups(search_everywhere(user=service_user, query="0000 0409", limit=5))
    assert [hit.label for hit in found["customer"]] == ["林晓雨"]
    assert [hit.label for hit in found["contact"]] == ["王芳"]
    assert found["customer"][0].tel == E164
    assert found["customer"][0].mailto == EMAIL
    # Sales sees the unassigned customer but not its phone: no match by it, not even on contacts.
    assert search_everywhere(user=sales_user, query="0000 0409", limit=5) == []
    assert _groups(search_everywhere(user=sales_user, query="晓雨", limit=5))["customer"]


def test_hits_mask_personal_data_the_user_may_not_see(analyst_user):
    CustomerFactory(name="林晓雨", phone=PHONE, email=EMAIL)
    (hit,) = _groups(search_everywhere(user=analyst_user, query="林晓雨", limit=5))["customer"]
    assert PHONE not in hit.sublabel
    assert EMAIL not in hit.sublabel
    assert "****" in hit.sublabel
    assert hit.tel == ""
    assert hit.mailto == ""


def test_email_fragment_and_pinyin_find_the_customer(service_user):
    CustomerFactory(name="于家伟", email="jiawei.yu@example.com")
    assert _groups(search_everywhere(user=service_user, query="Jiawei Yu", limit=5))["customer"]
    assert _groups(search_everywhere(user=service_user, query="jiawei.yu@", limit=5))["customer"]


def test_another_reps_customer_contacts_and_tasks_are_not_found(sales_user, other_sales_user):
    theirs = CustomerFactory(name="Zenith Foods", owner=other_sales_user)
    save_contact(actor=None, customer=theirs, name="Zenith buyer")
    _task(theirs, "Zenith renewal", other_sales_user)
    assert search_everywhere(user=sales_user, query="zenith", limit=5) == []
    assert len(_groups(search_everywhere(user=other_sales_user, query="zenith", limit=5))) == 3


def test_open_tasks_come_before_done_ones(service_user):
    customer = CustomerFactory(name="Orchid Ltd")
    done = _task(customer, "Call Orchid", service_user)
    complete_follow_up(actor=None, follow_up=done)
    _task(customer, "Visit Orchid", service_user, due_in_days=9)
    tasks = _groups(search_everywhere(user=service_user, query="orchid", limit=5))["task"]
    assert [hit.label for hit in tasks] == ["Visit Orchid", "Call Orchid"]


def test_an_open_task_is_shown_however_many_done_ones_match(service_user, monkeypatch):
    monkeypatch.setattr(search, "SEARCH_CANDIDATES", 2)
    customer = CustomerFactory(name="Orchid Ltd")
    for number in range(3):
        complete_follow_up(
            actor=None, follow_up=_task(customer, f"Call Orchid {number}", service_user)
        )
    _task(customer, "Visit Orchid", service_user, due_in_days=9)
    tasks = _groups(search_everywhere(user=service_user, query="orchid", limit=2))["task"]
    assert tasks[0].label == "Visit Orchid"
    assert len(tasks) == 2


def test_two_characters_find_contacts_and_tasks_by_the_start_of_a_word(service_user):
    customer = CustomerFactory(name="Orchid Ltd")
    save_contact(actor=None, customer=customer, name="Li Na")
    save_contact(actor=None, customer=customer, name="Bo Li")
    save_contact(actor=None, customer=customer, name="Olivia")
    _task(customer, "Li Na's contract", service_user)
    _task(customer, "Call Bo Li", service_user)
    _task(customer, "回访 王芳", service_user)
    _task(customer, "回访：王芳", service_user)
    _task(customer, "回访王芳芳", service_user)
    _task(customer, "Deliver to Oslo", service_user)
    found = _groups(search_everywhere(user=service_user, query="li", limit=5))
    assert sorted(hit.label for hit in found["contact"]) == ["Bo Li", "Li Na"]
    assert sorted(hit.label for hit in found["task"]) == ["Call Bo Li", "Li Na's contract"]
    found = _groups(search_everywhere(user=service_user, query="王芳", limit=5))
    assert sorted(hit.label for hit in found["task"]) == ["回访 王芳", "回访：王芳"]
    # Three characters and more match anywhere.
    found = _groups(search_everywhere(user=service_user, query="o li", limit=5))
    assert [hit.label for hit in found["contact"]] == ["Bo Li"]
    assert [hit.label for hit in found["task"]] == ["Call Bo Li"]
    found = _groups(search_everywhere(user=service_user, query="liv", limit=5))
    assert [hit.label for hit in found["contact"]] == ["Olivia"]


def test_separators_in_names_and_titles_match_one_another(service_user):
    """A word may start after a middle dot or a full-width colon, and the colon a user types
    (folded to ":") finds the full-width one a title holds."""
    customer = CustomerFactory(name="Orchid Ltd")
    save_contact(actor=None, customer=customer, name="约翰·史密斯")
    _task(customer, "回访：王芳", service_user)
    _task(customer, "回访王芳芳", service_user)

    found = _groups(search_everywhere(user=service_user, query="史密", limit=5))
    assert [hit.label for hit in found["contact"]] == ["约翰·史密斯"]
    found = _groups(search_everywhere(user=service_user, query="回访:王", limit=5))
    assert [hit.label for hit in found["task"]] == ["回访：王芳"]


@pytest.mark.postgres_only
def test_a_word_start_is_one_probe_of_the_words_trigram_index(service_user):
    """On PostgreSQL the short query's condition is the expression the trigram indexes are
    built on (customers' 0021, interactions' 0012): the plan reads them."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    for model, field, index in (
        (Contact, "name", "contact_name_words_trgm"),
        (FollowUp, "title", "followup_title_words_trgm"),
    ):
        plan = model.objects.filter(search._text_condition(field, "王芳")).explain()
        assert index in plan


@pytest.mark.postgres_only
def test_open_tasks_are_read_through_the_trigram_index_of_open_titles(service_user):
    """Open tasks are read apart (task_hits): their own partial trigram index (interactions'
    0014) answers the title and the open condition at once, where the planner otherwise walked
    every open follow-up along the assignee index hoping to meet 200 matches early."""
    customer = CustomerFactory(name="刘文华")
    with connection.cursor() as cursor:
        # 20,000 open follow-ups of one assignee, as a busy team has them, none of them for 刘文.
        cursor.execute(
            "INSERT INTO interactions_followup (title, notes, due_at, created_at, assignee_id, "
            "customer_id, version) SELECT '回访 ' || md5(n::text), '', now(), now(), %s, %s, 0 "
            "FROM generate_series(1, 20000) AS n",
            [service_user.pk, customer.pk],
        )
        # As autovacuum leaves them: the rows in the GIN indexes proper, not in their pending
        # lists, which every probe reads whole.
        for index in ("followup_title_words_trgm", "followup_open_title_words_trgm"):
            cursor.execute("SELECT gin_clean_pending_list(%s::regclass)", [index])
        cursor.execute("ANALYZE interactions_followup")
        try:
            # The query task_hits sends for the open ones, as sent.
            with CaptureQueriesContext(connection) as queries:
                search.task_hits(SearchRequest(user=service_user, query="刘文", limit=5))
            (open_query,) = [
                query["sql"]
                for query in queries.captured_queries
                if '"interactions_followup"."done_at" IS NULL' in query["sql"]
            ]
            cursor.execute(f"EXPLAIN {open_query}")
            plan = "\n".join(line for (line,) in cursor.fetchall())
        finally:
            # ANALYZE writes the row estimate in place, which the rollback does not undo:
            # leave the next tests an empty table's.
            cursor.execute("DELETE FROM interactions_followup")
            cursor.execute("ANALYZE interactions_followup")
    assert "followup_open_title_words_trgm" in plan


def test_one_character_finds_nothing(service_user):
    CustomerFactory(name="A-Team")
    assert search_everywhere(user=service_user, query="A", limit=5) == []


def test_suggestions_stay_within_a_bounded_number_of_queries(
    client, service_user, django_assert_max_num_queries
):
    for number in range(12):
        customer = CustomerFactory(name=f"Bounded {number}", phone=f"1360000{number:04d}")
        save_contact(actor=None, customer=customer, name=f"Bounded contact {number}")
        _task(customer, f"Bounded call {number}", service_user)
        create_deal(actor=service_user, customer=customer, title=f"Bounded deal {number}")
    client.force_login(service_user)
    with django_assert_max_num_queries(18):
        page = _suggest(client, "bounded")
    assert page.count('class="dropdown-item search-hit"') == 4 * SUGGESTION_LIMIT


def test_the_customers_and_deals_groups_share_one_customer_search(service_user):
    """The deals group finds deals by their customer: it takes the customers the customers group
    read rather than searching the customers table a second time."""
    customer = CustomerFactory(name="Quayside Traders")
    create_deal(actor=service_user, customer=customer, title="Shelving")

    with CaptureQueriesContext(connection) as queries:
        groups = _groups(search_everywhere(user=service_user, query="quayside", limit=5))

    customer_searches = [
        query["sql"]
        for query in queries.captured_queries
        if query["sql"].startswith('SELECT "customers_customer"')
        and "QUAYSIDE" in query["sql"].upper()
    ]
    assert len(customer_searches) == 1
    assert [hit.label for hit in groups["customer"]] == ["Quayside Traders"]
    assert [hit.label for hit in groups["deal"]] == ["Shelving"]


def test_the_results_page_works_without_javascript_and_keeps_the_query_out_of_urls(
    client, service_user
):
    customer = CustomerFactory(name="林晓雨", phone=PHONE, email=EMAIL)
    client.force_login(service_user)
    response = client.post("/search/", {"q": PHONE})
    assert response.status_code == 302
    assert PHONE not in response["Location"]
    page = client.get(response["Location"]).content.decode()
    assert f'href="/customers/{customer.pk}/"' in page
    assert f'href="tel:{E164}"' in page
    assert f'href="mailto:{EMAIL}"' in page


def test_the_results_page_links_no_masked_value(client, analyst_user):
    CustomerFactory(name="林晓雨", phone=PHONE, email=EMAIL)
    client.force_login(analyst_user)
    page = client.get(client.post("/search/", {"q": "林晓雨"})["Location"]).content.decode()
    assert "林晓雨" in page
    assert "tel:" not in page
    assert "mailto:" not in page


def test_every_page_has_the_search_box_for_staff_who_see_customers(client, analyst_user):
    client.force_login(analyst_user)
    assert 'id="global-search-input"' in client.get("/segments/").content.decode()


def test_suggestions_need_post(client, service_user):
    client.force_login(service_user)
    assert client.get("/search/suggestions/", {"q": "ab"}).status_code == 405


def test_deals_are_found_by_title_or_customer_within_the_users_scope(sales_user, other_sales_user):
    mine = CustomerFactory(name="Harbour Foods", owner=sales_user)
    theirs = CustomerFactory(name="Harbour Drinks", owner=other_sales_user)
    own_deal = create_deal(actor=sales_user, customer=mine, title="Cold room refit", amount=800)
    create_deal(actor=other_sales_user, customer=theirs, title="Cold room lease", amount=900)

    by_title = _groups(search_everywhere(user=sales_user, query="cold room", limit=5))["deal"]
    by_customer = _groups(search_everywhere(user=sales_user, query="harbour", limit=5))["deal"]

    assert [(hit.label, hit.url) for hit in by_title] == [
        ("Cold room refit", f"/deals/{own_deal.pk}/")
    ]
    assert [hit.label for hit in by_customer] == ["Cold room refit"]

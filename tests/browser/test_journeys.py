"""One journey per role, in a real browser."""

import re

import pytest
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import expect

from customers.models import Customer
from operations.models import BackupRun, RestoreDrill
from privacy import roles
from privacy.models import AuditEvent
from tests.factories import CustomerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sales_finds_a_caller_by_last_digits_edits_the_email_and_logs_a_call(
    page, log_in, make_user
):
    sales = make_user(roles.SALES)
    CustomerFactory(name="张伟", phone="13800138000", email="old@example.com", owner=sales)
    log_in(sales)
    search = page.get_by_label("Find a customer")
    expect(search).to_be_focused()
    search.fill("8000")  # the last digits the caller reads out
    search.press("Enter")
    # A single match opens the customer straight away; the digits never reach the URL.
    expect(page.get_by_role("heading", name="张伟")).to_be_visible()
    expect(page).not_to_have_url(re.compile("8000"))
    expect(page.get_by_text("+8613800138000")).to_be_visible()

    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Email", exact=True).fill("Zhang.Wei@QQ.com")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_contain_text("Changes saved.")
    expect(page.get_by_text("zhang.wei@qq.com")).to_be_visible()

    page.get_by_role("link", name="Log a call").click()
    page.get_by_label("Subject").fill("Wants the blue one in size M")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_contain_text("Interaction logged.")
    expect(page.locator("#timeline")).to_contain_text("Call — Wants the blue one in size M")
    customer = Customer.objects.get(name="张伟")
    assert customer.email == "zhang.wei@qq.com"
    assert customer.interactions.get().staff == sales


def test_anonymous_visitor_is_sent_to_the_login_page(page):
    page.goto("/customers/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/customers/"))
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()


def test_sales_gets_field_errors_when_creating_a_customer(page, log_in, make_user):
    log_in(make_user(roles.SALES))
    page.goto("/customers/new/")
    page.get_by_label("Name", exact=True).fill("Li Lei")
    page.get_by_label("Mobile phone").fill("12345")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Enter a valid mobile or landline number.")).to_be_visible()
    assert not Customer.objects.exists()


def test_new_customer_form_warns_of_a_possible_duplicate_while_typing(page, log_in, make_user):
    sales = make_user(roles.SALES)
    CustomerFactory(name="王伟", phone="13800138000", owner=sales)
    log_in(sales)
    page.goto("/customers/new/")
    page.get_by_label("Mobile phone").fill("138-0013-8000")
    page.get_by_label("Mobile phone").press("Tab")
    expect(page.get_by_role("status")).to_contain_text("Possible duplicate")
    expect(page.get_by_role("status").get_by_role("link", name="王伟")).to_be_visible()


def test_analyst_sees_masked_contact_data_and_no_edit_button(page, log_in, make_user):
    customer = CustomerFactory(name="Anna Schmidt", phone="13800138000", email="anna@example.de")
    log_in(make_user(roles.ANALYST))
    page.goto(f"/customers/{customer.pk}/")
    expect(page.get_by_text("138****8000")).to_be_visible()
    expect(page.get_by_text("a***@example.de")).to_be_visible()
    expect(page.get_by_role("link", name="Edit")).to_have_count(0)


def test_privacy_officer_reveals_an_id_number_and_it_is_audited(page, log_in, make_user):
    officer = make_user(roles.PRIVACY_OFFICER)
    customer = CustomerFactory(
        name="李娜", id_document_kind="cn_resident", id_number="11010519491231002X"
    )
    log_in(officer)
    page.goto(f"/customers/{customer.pk}/")
    expect(page.get_by_text("110***********002X")).to_be_visible()
    page.get_by_role("button", name="Reveal (audited)").click()
    expect(page.get_by_text("11010519491231002X")).to_be_visible()
    assert AuditEvent.objects.filter(action="customer.reveal_id", actor=officer).count() == 1


def test_administrator_sees_last_nights_backup_verified_and_opens_user_management(
    page, log_in, make_user
):
    file_name = "crm-20261125T163000Z.backup"
    BackupRun.objects.create(
        finished_at=timezone.now(),
        status="done",
        engine="postgresql",
        file_name=file_name,
        size_bytes=5_000_000,
        tables=53,
        rows=1_234_567,
        seconds=75,
    )
    RestoreDrill.objects.create(
        backup_file=file_name,
        finished_at=timezone.now(),
        status="done",
        restore_seconds=42,
        tables_compared=53,
        rows_compared=1_234_567,
        migrations_ok=True,
    )
    log_in(make_user(roles.ADMINISTRATOR, is_staff=True))
    page.get_by_role("navigation").get_by_role("button", name="System").click()
    page.get_by_role("navigation").get_by_role("link", name="Operations").click()
    expect(page.locator("#backup-status")).to_contain_text(
        "was restored in 42 s and verified: 53 tables, 1,234,567 rows equal."
    )
    page.get_by_role("navigation").get_by_role("button", name="System").click()
    page.get_by_role("link", name="Administration").click()
    page.get_by_role("link", name="Users").click()
    expect(page.get_by_role("heading", name="Select user to change")).to_be_visible()


def test_service_switches_the_interface_to_chinese(page, log_in, make_user):
    log_in(make_user(roles.SERVICE))
    page.get_by_label("Language").select_option("zh-hans")
    expect(page.get_by_role("link", name="客户", exact=True)).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")


@pytest.mark.celery_worker
def test_sales_imports_a_chinese_excel_csv_through_the_wizard(
    page, log_in, make_user, tmp_path, settings
):
    from celery.contrib.testing.worker import start_worker

    from crm.celery import app as celery_app
    from tests.customers.importfiles import csv_bytes

    settings.MEDIA_ROOT = tmp_path
    sales = make_user(roles.SALES)
    sheet = tmp_path / "会员名单.csv"
    sheet.write_bytes(
        csv_bytes(
            [
                ["姓名", "手机号码", "生日", "城市"],
                ["王丽娟", "138 0013 8000", "1990/1/5", "上海"],
                ["张伟", "1.38001E+10", "1985-03-04", "北京"],
            ],
            encoding="gbk",
        )
    )
    log_in(sales)
    page.get_by_role("link", name="Import").click()
    page.get_by_label("File", exact=True).set_input_files(str(sheet))
    page.get_by_role("button", name="Upload and check").click()
    expect(page.get_by_label("手机号码")).to_have_value("phone")
    preview = page.locator("#preview")
    expect(preview).to_contain_text("Excel shortened this number")
    expect(preview.get_by_text("new")).to_have_count(1)
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        page.get_by_role("button", name="Start the import").click()
        counts = page.locator("#import-counts")
        expect(counts).to_be_visible(timeout=20_000)
    expect(counts).to_contain_text("New")
    # The badge beside the file name follows the job (it said Queued when the page opened).
    expect(page.locator("#job-status")).to_have_text("Done")
    expect(page.get_by_role("link", name="Download the error report (CSV)")).to_be_visible()
    wang = Customer.objects.get(phone="+8613800138000")
    assert (wang.owner, wang.city) == (sales, "上海市")  # stored in its official form
    assert not Customer.objects.filter(name="张伟").exists()


@pytest.mark.celery_worker
def test_analyst_exports_a_filtered_list_to_excel_masked(
    page, log_in, make_user, tmp_path, settings
):
    import openpyxl
    from celery.contrib.testing.worker import start_worker

    from crm.celery import app as celery_app

    settings.MEDIA_ROOT = tmp_path
    analyst = make_user(roles.ANALYST)
    CustomerFactory(name="王丽娟", phone="13800138000", lifecycle_stage="lead")
    CustomerFactory(name="Anna Schmidt", lifecycle_stage="repeat")
    log_in(analyst)
    page.goto("/customers/?lifecycle_stage=lead")
    page.get_by_role("link", name="Export this list").click()
    expect(page.get_by_text("masked in your exports")).to_be_visible()
    page.get_by_label("Excel workbook (.xlsx)").check()
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        page.get_by_role("button", name="Prepare the file").click()
        download_link = page.get_by_role("link", name="Download")
        expect(download_link).to_be_visible(timeout=20_000)
    expect(page.locator("#job-status")).to_have_text("Done")
    with page.expect_download() as download:
        download_link.click()
    path = tmp_path / "export.xlsx"
    download.value.save_as(path)
    sheet = openpyxl.load_workbook(path, read_only=True).worksheets[0]
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[1][0] == "王丽娟"
    assert "138****8000" in rows[1]
    assert len(rows) == 2  # the filter held: one lead


def test_service_reviews_a_duplicate_group_merges_it_and_undoes_the_merge(page, log_in, make_user):
    from customers.dedup.scan import SCAN_JOBS
    from customers.models import DuplicateScan

    CustomerFactory(name="刘洋", phone="13912345678", city="深圳")
    CustomerFactory(name="Liu Yang", phone="+86 139 1234 5678", email="liuyang@example.cn")
    CustomerFactory(name="刘阳", phone="13700000000", city="西安")  # someone else
    SCAN_JOBS.run(
        DuplicateScan.objects.create(mode="full", min_probability=0.8, status="queued").pk
    )
    log_in(make_user(roles.SERVICE))
    page.get_by_role("link", name="Duplicates").click()
    group = page.locator("#duplicate-groups a")
    expect(group).to_have_count(1)
    expect(group).to_contain_text("same phone")
    group.click()
    expect(page.get_by_role("heading", name="Are these the same customer?")).to_be_visible()
    # The names differ: that row is highlighted and the reviewer keeps the Chinese one.
    page.locator("tr.table-warning").get_by_label("刘洋").check()
    page.get_by_role("button", name="Merge", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("Merged 2 customers into this one.")
    expect(page.get_by_role("heading", name="刘洋")).to_be_visible()
    expect(page.get_by_text("liuyang@example.cn")).to_be_visible()
    assert Customer.objects.filter(merged_into__isnull=False).count() == 1
    page.get_by_role("button", name="Undo merge").click()
    expect(page.get_by_role("alert")).to_contain_text("The merge was undone")
    assert Customer.objects.filter(merged_into__isnull=False).count() == 0


def test_analyst_builds_a_segment_with_a_live_count_and_exports_it(
    page, log_in, make_user, tmp_path, settings
):
    from celery.contrib.testing.worker import start_worker

    from crm.celery import app as celery_app

    settings.MEDIA_ROOT = tmp_path
    analyst = make_user(roles.ANALYST)
    CustomerFactory(name="王丽娟", city="上海", lifecycle_stage="lead")
    CustomerFactory(name="李娜", city="上海", lifecycle_stage="repeat")
    CustomerFactory(name="Anna Schmidt", city="Berlin", lifecycle_stage="lead")
    cache.clear()  # the builder's suggested places, as other tests left them
    log_in(analyst)
    page.goto("/segments/")
    page.get_by_role("link", name="New segment").click()
    page.get_by_label("Name", exact=True).fill("Shanghai customers")
    page.get_by_role("button", name="Add condition").click()
    page.get_by_label("Field").select_option("city")
    # The builder suggests the cities customers have, in their stored form; any spelling works.
    value = page.get_by_label("Value")
    suggestions = page.locator(f"datalist#{value.get_attribute('list')} option")
    expect(suggestions).to_have_count(2)
    expect(suggestions.first).to_have_attribute("value", "上海市")
    value.fill("Shanghai")
    expect(page.locator("#segment-count")).to_contain_text("2 customers match")
    # An "any" group inside: Shanghai and (lead or churned).
    page.get_by_role("button", name="Add group").click()
    group = page.locator(".group .group")
    group.get_by_label("Field").select_option("lifecycle_stage")
    group.get_by_label("Value").select_option("lead")
    expect(page.locator("#segment-count")).to_contain_text("1 customer matches")
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_role("heading", name="Shanghai customers")).to_be_visible()
        for _attempt in range(40):  # the worker refreshes the members after the save
            if page.locator("#segment-size").inner_text() == "1":
                break
            page.wait_for_timeout(250)
            page.reload()
        expect(page.locator("#segment-size")).to_have_text("1")
        expect(page.locator("#members")).to_contain_text("王丽娟")
        page.get_by_role("link", name="Export").click()
        page.get_by_role("button", name="Prepare the file").click()
        download_link = page.get_by_role("link", name="Download")
        expect(download_link).to_be_visible(timeout=20_000)
    with page.expect_download() as download:
        download_link.click()
    lines = download.value.path().read_text(encoding="utf-8-sig").splitlines()
    assert len(lines) == 2
    assert lines[1].startswith("王丽娟,")

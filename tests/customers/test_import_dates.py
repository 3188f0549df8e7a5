"""Dates such as 07/04/1980 are read as the user says the file writes them (day first or month
first), per file, in the wizard and the commands; unsaid, they are refused with a message that
says how to choose. Unambiguous dates read the same whatever the choice."""

import datetime
import json
from itertools import count

import pytest
from django.core.management import call_command
from django.utils import timezone, translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customers.imports import jobs
from customers.imports.fields import date_value
from customers.models import Customer, DateOrder
from customers.normalize import NormalizationError, parse_date
from interactions.models import Transaction
from kernel.models import JobStatus
from tests.customers.importfiles import csv_bytes, run_wizard, upload
from tests.factories import CustomerFactory

dates = st.dates(min_value=datetime.date(1900, 1, 1), max_value=datetime.date(2100, 12, 31))
separators = st.sampled_from("/-.")
padded = st.booleans()
FILE_SETTINGS = settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_SOURCES = count()


def _written(day: datetime.date, *, day_first: bool, separator: str, zero_padded: bool) -> str:
    width = 2 if zero_padded else 1
    first, second = (day.day, day.month) if day_first else (day.month, day.day)
    return f"{first:0{width}d}{separator}{second:0{width}d}{separator}{day.year}"


def _could_be_either(day: datetime.date) -> bool:
    return day.day <= 12 and day.month <= 12 and day.day != day.month


@given(day=dates, day_first=st.booleans(), separator=separators, zero_padded=padded)
def test_a_date_reads_as_the_user_says_the_file_writes_it(day, day_first, separator, zero_padded):
    text = _written(day, day_first=day_first, separator=separator, zero_padded=zero_padded)
    assert parse_date(text, day_first=day_first) == day
    if _could_be_either(day):
        with pytest.raises(NormalizationError) as refused:
            parse_date(text)
        assert refused.value.code == "date_order_ambiguous"
    else:
        # Unambiguous: the same date whatever the user says, and without their saying.
        assert parse_date(text) == parse_date(text, day_first=not day_first) == day


@given(day=dates, day_first=st.sampled_from([None, True, False]))
def test_unambiguous_forms_ignore_the_choice(day, day_first):
    serial = (day - datetime.date(1899, 12, 30)).days
    for text in (
        day.isoformat(),
        f"{day.year}/{day.month}/{day.day}",
        f"{day.year}年{day.month}月{day.day}日",
        f"{day:%Y%m%d}",
    ):
        assert parse_date(text, day_first=day_first) == day
    if serial > 2100:  # smaller serials are refused as bare years
        assert parse_date(str(serial), day_first=day_first) == day


def _in_chinese(message: str) -> bool:
    return any("\u4e00" <= character <= "\u9fff" for character in message)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_an_unsaid_order_is_refused_with_how_to_choose(language):
    with translation.override(language):
        with pytest.raises(NormalizationError) as refused:
            date_value("07/04/1980", date_order=DateOrder.UNSAID)
        message = str(refused.value.message)
    assert "--date-order day-first" in message
    assert "07/04/1980" in message
    assert _in_chinese(message) == (language == "zh-hans")
    assert date_value("07/04/1980", date_order=DateOrder.DAY_FIRST) == datetime.date(1980, 4, 7)
    assert date_value("07/04/1980", date_order=DateOrder.MONTH_FIRST) == datetime.date(1980, 7, 4)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


order_dates = st.lists(dates.filter(lambda day: day.year >= 1971), min_size=1, max_size=8)


@pytest.mark.django_db
@pytest.mark.parametrize("date_order", [DateOrder.DAY_FIRST, DateOrder.MONTH_FIRST])
def test_wizard_reads_every_order_date_as_chosen(client, admin_user_role, date_order):
    CustomerFactory(name="王丽娟", phone="13800138000")
    client.force_login(admin_user_role)
    day_first = date_order == DateOrder.DAY_FIRST

    @FILE_SETTINGS
    @given(days=order_dates, separator=separators, zero_padded=padded)
    def check(days, separator, zero_padded):
        source = f"dates-{next(_SOURCES)}"
        style = _style(day_first, separator, zero_padded)
        rows = [["Order number", "Phone", "Order date", "Unit price"]] + [
            [f"D-{n}", "13800138000", _written(day, **style), "10"] for n, day in enumerate(days)
        ]
        job = run_wizard(
            client,
            kind="transactions",
            content=csv_bytes(rows),
            source_name=source,
            date_order=date_order,
        )
        assert (job.status, job.rows_failed, job.date_order) == (JobStatus.DONE, 0, date_order)
        stored = Transaction.objects.filter(source_system=source).order_by("external_ref")
        assert [timezone.localtime(order.occurred_at).date() for order in stored] == [
            day for _ref, day in sorted((f"D-{n}", day) for n, day in enumerate(days))
        ]

    check()


def _style(day_first: bool, separator: str, zero_padded: bool) -> dict:
    return {"day_first": day_first, "separator": separator, "zero_padded": zero_padded}


@pytest.mark.django_db
@pytest.mark.parametrize("flag", ["day-first", "month-first"])
def test_command_reads_birth_dates_as_its_flag_says(tmp_path, capsys, admin_user_role, flag):
    day_first = flag == "day-first"

    @FILE_SETTINGS
    @given(days=st.lists(dates, min_size=1, max_size=6), separator=separators)
    def check(days, separator):
        batch = next(_SOURCES)
        path = tmp_path / f"people-{batch}.csv"
        names = [f"Person {batch}-{n}" for n in range(len(days))]
        style = _style(day_first, separator, True)
        rows = [["Name", "Birth date"]] + [
            [name, _written(day, **style)] for name, day in zip(names, days, strict=True)
        ]
        path.write_bytes(csv_bytes(rows))
        call_command(
            "import_customers", str(path), "--date-order", flag, "--user", admin_user_role.username
        )
        summary = json.loads(capsys.readouterr().out)
        assert (summary["status"], summary["failed"]) == (JobStatus.DONE, 0)
        stored = dict(Customer.objects.filter(name__in=names).values_list("name", "birth_date"))
        assert stored == dict(zip(names, days, strict=True))

    check()


@pytest.mark.django_db
def test_without_a_choice_ambiguous_dates_fail_their_row_and_say_how_to_choose(admin_user_role):
    rows = [["姓名", "生日"], ["王丽娟", "07/04/1980"], ["李雷", "13/04/1980"]]
    with translation.override("zh-hans"):  # the importer's language, kept on the job
        job = jobs.create_import(
            actor=admin_user_role, kind="customers", upload=upload("people.csv", csv_bytes(rows))
        )
    jobs.configure_import(actor=admin_user_role, job=job, mapping=job.mapping)
    jobs.start_import(actor=admin_user_role, job=job, queue=False)
    jobs.IMPORT_JOBS.run(job.pk)
    job.refresh_from_db()
    assert (job.rows_created, job.rows_failed) == (1, 1)
    assert Customer.objects.get().birth_date == datetime.date(1980, 4, 13)
    message = job.issues.get().message
    assert "--date-order" in message
    assert _in_chinese(message)  # in the importer's language


@pytest.mark.django_db
def test_a_saved_template_keeps_the_files_date_order(client, admin_user_role):
    client.force_login(admin_user_role)
    rows = [["Name", "Birth date"], ["Anna Schmidt", "07/04/1980"]]
    run_wizard(
        client,
        kind="customers",
        content=csv_bytes(rows),
        date_order=DateOrder.DAY_FIRST,
        template_name="club members",
    )
    template = jobs.templates_for("customers").get(name="club members")
    assert template.options["date_order"] == DateOrder.DAY_FIRST
    assert Customer.objects.get().birth_date == datetime.date(1980, 4, 7)

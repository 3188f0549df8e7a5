"""An import prepares the next batch in a thread while it writes this one, with its phones,
emails and dates cleaned a column at a time (customers/imports/jobs.py _prepared_ahead,
customers/normalize_batch.py): the rows come out as they would one by one, in the job's
language, and a file whose custom field names colleagues (read from the database) is still
read right."""

import pytest
from django.contrib.auth import get_user_model
from django.utils import translation

from customers.custom_fields.models import FieldType
from customers.imports import customer_rows
from customers.imports.fields import RowCells, batch_values
from customers.imports.mapping import suggest_mapping
from customers.models import Customer, ImportIssue
from interactions.imports import transaction_rows
from kernel.models import JobStatus
from tests.customers.importfiles import csv_bytes
from tests.customers.test_custom_fields import define_field
from tests.customers.test_imports import _import

pytestmark = pytest.mark.django_db

HEADERS = ["客户编号", "姓名", "手机号码", "备用电话", "邮箱", "生日"]
MESSY = [
    ["C1", "王丽娟", "139 1234 5678", "+86-13912345678", "Wang.LJ@Example.COM", "1990/1/5"],
    ["C2", "李雷", "0086 13800138000", "010-6552 9988", "li@qq.com", "19900105"],
    ["C3", "Anna Schmidt", "+49 30 1234567", "", "<anna@example.de>", "05/01/1990"],
    ["C4", "张伟", "1.38001E+10", "13700137000", "zhang..wei@163.com", "1990-02-30"],
    ["C5", "陈静", "１３６００１３６０００", "86 13600136000", "CHEN＠QQ.COM", "1990年1月5日"],
    ["C6", "赵敏", "13500135000.0", "x", "zhao@mail.例子.cn", "1899-12-31"],
    ["C7", "Lukas Müller", "(030) 1234567", "+1 202 555 0143", "mailto:LM@EXAMPLE.de", "45296"],
    ["C8", "周杰", "135 0013 5001", "135-0013-5001", "zhou@qq.com", "1990.12.31"],
]


def _chinese(text: str) -> bool:
    return any("\u4e00" <= character <= "\u9fff" for character in text)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


ORDERS = [
    ["订单号", "下单时间", "手机号码", "邮箱", "单价"],
    ["A1", "2024-01-05 10:30", "139 1234 5678", "Wang.LJ@Example.COM", "99"],
    ["A2", "2024/1/5", "0086 13800138000", "li..lei@qq.com", "19.5"],
    ["A3", "05/01/2024", "1.38001E+10", "", "10"],
    ["A4", "2024-02-30", "+86-13912345678", "CHEN＠QQ.COM", "¥12"],
]


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_rows_prepared_a_batch_at_a_time_are_the_rows_prepared_one_by_one(language):
    for module, kind, (headers, *rows) in (
        (customer_rows, "customers", [HEADERS, *MESSY]),
        (transaction_rows, "transactions", ORDERS),
    ):
        fields = module.fields()
        row_cells = RowCells(fields, headers, suggest_mapping(fields, kind, headers))
        numbered = list(enumerate(rows, start=2))
        with translation.override(language):
            one_by_one = [
                module.prepare(row_cells(number, cells), invalid_values="drop", date_order="")
                for number, cells in numbered
            ]
            gathered = [row_cells(number, cells) for number, cells in numbered]
            batch = batch_values(gathered)
            at_once = [
                module.prepare(row, invalid_values="drop", date_order="", batch=batch)
                for row in gathered
            ]
        assert batch.phones  # the batch path answered some
        assert batch.emails
        assert [row.values for row in at_once] == [row.values for row in one_by_one]
        assert [row.issues for row in at_once] == [row.issues for row in one_by_one]
        assert any(row.issues for row in at_once)


def test_batches_read_ahead_report_in_the_jobs_language(settings, admin_user_role):
    settings.IMPORT_BATCH_SIZE = 2
    with translation.override("zh-hans"):
        job = _import(admin_user_role, csv_bytes([HEADERS, *MESSY]), invalid_values="drop")
    assert job.rows_total == len(MESSY)
    assert job.rows_created + job.rows_updated == len(MESSY)
    # The dates of rows 4, 5 and 7 (day and month either way round, 30 February, before
    # 1900), in batches prepared in the thread, are reported in Chinese.
    messages = dict(
        ImportIssue.objects.filter(job=job, column="生日").values_list("row", "message")
    )
    assert set(messages) == {4, 5, 7}
    assert all(_chinese(message) for message in messages.values()), messages
    assert Customer.objects.get(name="周杰").phone == "+8613500135001"
    assert Customer.objects.get(name="王丽娟").email == "wang.lj@example.com"


def test_a_colleague_named_in_a_custom_field_is_found_in_every_batch(settings, admin_user_role):
    """Such a field is cleaned from the database, so its batches are prepared in line: the
    thread would have a connection of its own, which sees only what is committed."""
    settings.IMPORT_BATCH_SIZE = 2
    define_field(admin_user_role, FieldType.USER, label="Mentor", label_zh="导师")
    mentor = get_user_model().objects.create_user("mentor-li", first_name="Li", is_staff=True)
    rows = [["姓名", "手机号码", "导师"]] + [
        [f"客户{index}", f"1390000{index:04d}", "mentor-li"] for index in range(5)
    ]
    job = _import(admin_user_role, csv_bytes(rows))
    assert (job.rows_created, job.rows_failed) == (5, 0)
    assert {customer.custom["mentor"] for customer in Customer.objects.all()} == {mentor.pk}


def test_a_batch_that_fails_in_the_thread_fails_the_job_after_the_last_written_one(
    settings, admin_user_role, monkeypatch
):
    settings.IMPORT_BATCH_SIZE = 2
    rows = [["姓名", "手机号码"]] + [[f"王{index}", f"1380013{index:04d}"] for index in range(8)]
    real_prepare = customer_rows.prepare
    prepared = []

    def failing_on_row_5(row, **options):
        prepared.append(row.number)
        if row.number == 5:
            raise RuntimeError("a bug in preparing")
        return real_prepare(row, **options)

    monkeypatch.setattr(customer_rows, "prepare", failing_on_row_5)
    job = _import(admin_user_role, csv_bytes(rows))
    assert job.status == JobStatus.FAILED
    assert job.resumable
    # Rows 2-3 were written; the batch of rows 4-5 failed; the last batch was never read.
    assert (job.checkpoint_row, job.rows_done) == (3, 2)
    assert Customer.objects.count() == 2
    assert not {8, 9} & set(prepared)


def test_a_query_while_preparing_in_the_thread_is_refused(settings, admin_user_role, monkeypatch):
    """Rows prepared in the thread may not read the database: what they read would be outside
    the job's transaction."""
    settings.IMPORT_BATCH_SIZE = 2
    real_prepare = customer_rows.prepare

    def reading(row, **options):
        Customer.objects.exists()
        return real_prepare(row, **options)

    monkeypatch.setattr(customer_rows, "prepare", reading)
    job = _import(admin_user_role, csv_bytes([HEADERS, *MESSY]))
    assert job.status == JobStatus.FAILED
    assert not Customer.objects.exists()


def test_only_a_mapped_field_read_from_the_database_keeps_batches_in_line(admin_user_role):
    define_field(admin_user_role, FieldType.USER, label="Mentor", label_zh="导师")
    fields = customer_rows.fields()
    assert not RowCells(fields, ["姓名", "手机号码"], ["name", "phone"]).reads_database
    assert RowCells(fields, ["姓名", "导师"], ["name", "custom.mentor"]).reads_database

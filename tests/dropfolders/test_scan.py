"""Drop folders end to end below the web layer: real files copied into a real folder, scans,
the import jobs they queue run through the job runner, and where the files go."""

import datetime
import os
import threading

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from customers.models import Customer, ImportTemplate
from dropfolders import scan
from dropfolders.models import DropFile, DropFolder
from interactions.models import Transaction
from kernel.models import JobStatus
from operations.connections import connections
from tests.customers.importfiles import csv_bytes, xlsx_bytes
from tests.dropfolders.folders import drop, run_queued_imports, scan_twice, touch_later

pytestmark = pytest.mark.django_db

# A POS's member export as Chinese Excel writes it: GBK, Chinese headers, messy phones.
MEMBERS = [
    ["会员编号", "姓名", "手机号码", "邮箱", "城市"],
    ["M001", "王丽娟", "138 0013 8000", "WLJ@Example.com", "上海"],
    ["M002", "张伟", "+86 139-0013-9000", "", "北京"],
]


def _files(folder_path, sub):
    return sorted(path.name for path in (folder_path / sub).iterdir())


def test_a_gbk_member_export_is_imported_once_and_moved_to_processed(make_folder, tmp_path):
    folder = make_folder()
    path = drop(folder, "会员导出.csv", csv_bytes(MEMBERS, encoding="gbk"))

    assert scan.scan_folder(folder.pk) == 0  # seen once: it may still be arriving
    folder.refresh_from_db()
    assert (folder.waiting, path.exists()) == (1, True)
    assert scan.scan_folder(folder.pk) == 1

    taken = DropFile.objects.get()
    assert taken.stored_as == "processing/会员导出.csv"
    assert not path.exists()
    [job] = run_queued_imports()
    assert (job.status, job.rows_created, job.rows_failed) == (JobStatus.DONE, 2, 0)
    assert (job.source_name, job.source_channel, job.created_by) == (
        "store-12",
        "pos",
        folder.run_as,
    )
    wang = Customer.objects.get(phone="+8613800138000")
    assert (wang.name, wang.email, wang.source_channel) == ("王丽娟", "wlj@example.com", "pos")

    scan.scan_folder(folder.pk)
    taken.refresh_from_db()
    assert taken.stored_as == "processed/会员导出.csv"
    assert taken.settled_at is not None
    assert _files(tmp_path / "drop" / "store-12", "processed") == ["会员导出.csv"]
    # Rescans import nothing more.
    assert scan_twice(folder) == 0
    assert Customer.objects.count() == 2


def test_a_file_named_in_gbk_bytes_is_imported_and_listed_with_marks(make_folder, tmp_path):
    folder = make_folder()
    # "会员.csv" as a Windows share may write it: GBK bytes, not UTF-8.
    name = os.fsdecode("会员.csv".encode("gbk"))
    (tmp_path / "drop" / "store-12" / name).write_bytes(csv_bytes(MEMBERS, encoding="gbk"))
    assert scan_twice(folder) == 1
    [job] = run_queued_imports()
    assert (job.status, job.rows_created) == (JobStatus.DONE, 2)
    taken = DropFile.objects.get()
    # 会 is no UTF-8 (two marks); 员's GBK bytes happen to be UTF-8's Ա.
    assert taken.file_name == "\ufffd\ufffd\u0531.csv"
    assert taken.stored_as == "processing/\ufffd\ufffd\u0531.csv"


def test_a_file_still_growing_is_not_taken_until_it_stops(make_folder):
    folder = make_folder()
    path = drop(folder, "members.csv", csv_bytes(MEMBERS[:2]))
    scan.scan_folder(folder.pk)
    path.write_bytes(csv_bytes(MEMBERS))  # the copy goes on
    touch_later(path)
    assert scan.scan_folder(folder.pk) == 0
    assert not DropFile.objects.exists()

    assert scan.scan_folder(folder.pk) == 1  # unchanged since the last scan
    [job] = run_queued_imports()
    assert job.rows_created == 2  # the whole file, not the first part


def test_a_done_marker_takes_the_file_at_once_and_is_removed(make_folder):
    folder = make_folder()
    drop(folder, "members.xlsx", xlsx_bytes(MEMBERS))
    marker = drop(folder, "members.xlsx.done", b"")
    partial = drop(folder, "next.csv.part", csv_bytes(MEMBERS))

    assert scan.scan_folder(folder.pk) == 1
    assert not marker.exists()
    assert partial.exists()  # a copy tool's partial file is never taken
    [job] = run_queued_imports()
    assert (job.status, job.rows_created) == (JobStatus.DONE, 2)


def test_the_same_content_copied_again_is_not_imported_twice(make_folder, tmp_path):
    folder = make_folder()
    content = csv_bytes(MEMBERS, encoding="gbk")
    drop(folder, "monday.csv", content)
    scan_twice(folder)
    run_queued_imports()
    scan.scan_folder(folder.pk)

    again = drop(folder, "monday-again.csv", content)
    assert scan_twice(folder) == 0
    assert not again.exists()
    assert DropFile.objects.count() == 1
    assert _files(tmp_path / "drop" / "store-12", "processed") == ["monday-again.csv", "monday.csv"]


def test_the_next_days_export_under_the_same_name_is_imported(make_folder):
    folder = make_folder()
    drop(folder, "export.csv", csv_bytes(MEMBERS[:2]))
    scan_twice(folder)
    run_queued_imports()
    scan.scan_folder(folder.pk)
    drop(folder, "export.csv", csv_bytes([MEMBERS[0], MEMBERS[2]]))
    assert scan_twice(folder) == 1
    run_queued_imports()
    scan.scan_folder(folder.pk)
    assert Customer.objects.count() == 2
    assert sorted(DropFile.objects.values_list("stored_as", flat=True)) == [
        "processed/export (2).csv",
        "processed/export.csv",
    ]


def test_a_scan_that_died_before_moving_the_file_moves_it_without_importing_again(make_folder):
    folder = make_folder()
    path = drop(folder, "members.csv", csv_bytes(MEMBERS))
    scan.scan_folder(folder.pk)
    # The key and the job were committed, then the process died before the move.
    scan._take_complete_files(folder.pk)
    assert path.exists()
    # Seen again, found complete, its key known: moved on, not imported.
    assert scan_twice(folder) == 0
    assert not path.exists()
    taken = DropFile.objects.get()
    assert taken.stored_as == "processing/members.csv"
    assert len(run_queued_imports()) == 1


def test_a_files_key_is_unique_per_folder(make_folder):
    folder = make_folder()
    DropFile.objects.create(folder=folder, file_name="a.csv", checksum="0" * 64)
    with pytest.raises(IntegrityError), transaction.atomic():
        DropFile.objects.create(folder=folder, file_name="b.csv", checksum="0" * 64)


@pytest.mark.django_db(transaction=True)
def test_two_scans_at_once_import_a_file_once(make_folder):
    folder = make_folder()
    drop(folder, "members.csv", csv_bytes(MEMBERS))
    scan.scan_folder(folder.pk)
    barrier = threading.Barrier(2)
    errors = []

    def scan_now():
        try:
            barrier.wait()
            scan.scan_folder(folder.pk)
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=scan_now) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert DropFile.objects.count() == 1
    assert len(run_queued_imports()) == 1


def test_rows_with_errors_send_the_file_to_failed_with_a_link_to_the_report(
    make_folder, tmp_path, settings
):
    folder = make_folder()
    rows = [*MEMBERS, ["M003", "李雷", "1.38001E+10", "", ""]]
    drop(folder, "members.csv", csv_bytes(rows, encoding="gbk"))
    scan_twice(folder)
    [job] = run_queued_imports()
    scan.scan_folder(folder.pk)

    assert (job.rows_created, job.rows_failed) == (2, 1)
    failed = tmp_path / "drop" / "store-12" / "failed"
    assert _files(tmp_path / "drop" / "store-12", "failed") == ["members.csv", "members.csv.txt"]
    note = (failed / "members.csv.txt").read_text()
    assert "1 of 3 rows had errors" in note
    assert f"{settings.SITE_URL}/imports/{job.pk}/" in note
    assert "李雷" not in note  # the report is behind the link, not in the folder


def test_an_unreadable_file_is_refused_with_the_reason_and_no_job(make_folder, tmp_path):
    folder = make_folder()
    drop(folder, "photo.csv", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    scan_twice(folder)
    scan.scan_folder(folder.pk)

    refused = DropFile.objects.get()
    assert refused.job is None
    assert refused.refusal
    assert refused.stored_as == "failed/photo.csv"
    note = (tmp_path / "drop" / "store-12" / "failed" / "photo.csv.txt").read_text()
    assert refused.refusal in note
    [health] = [item for item in connections() if item.name == "store-12"]
    assert health.errors_last_day == 1
    assert health.level(timezone.now()) == "warning"


def test_a_template_maps_headers_nobody_would_guess(make_folder, importer):
    template = ImportTemplate.objects.create(
        kind="customers",
        name="Store POS",
        columns={"VIP卡": "external_id", "顾客": "name", "联系方式": "phone"},
        options={"policy": "fill"},
        created_by=importer,
    )
    folder = make_folder(template=template)
    drop(
        folder, "vip.csv", csv_bytes([["VIP卡", "顾客", "联系方式"], ["V9", "赵敏", "13700137000"]])
    )
    scan_twice(folder)
    [job] = run_queued_imports()
    assert (job.status, job.rows_created) == (JobStatus.DONE, 1)
    assert Customer.objects.get().name == "赵敏"


def test_pos_orders_are_imported_into_the_customers_purchases(make_folder):
    Customer.objects.create(name="王丽娟", phone="+8613800138000")
    folder = make_folder(name="till-3", kind="transactions", source_name="till-3")
    orders = [
        ["订单号", "手机号码", "下单时间", "商品编码", "商品名称", "数量", "单价"],
        ["P-1", "138 0013 8000", "2024/5/1 10:30", "TEA-1", "龙井 250g", "2", "¥88.00"],
    ]
    drop(folder, "orders.csv", csv_bytes(orders, encoding="gb18030"))
    scan_twice(folder)
    [job] = run_queued_imports()
    assert (job.status, job.rows_created) == (JobStatus.DONE, 1)
    order = Transaction.objects.get()
    assert (order.external_ref, order.source_system) == ("P-1", "till-3")


def test_a_missing_folder_is_a_problem_on_the_operations_page(make_folder, tmp_path):
    folder = make_folder()
    (tmp_path / "drop" / "store-12").rmdir()
    scan.scan_folder(folder.pk)
    [health] = [item for item in connections() if item.name == "store-12"]
    assert str(health.problem) == "The folder does not exist."
    assert health.level(timezone.now()) == "danger"


def test_files_waiting_show_as_backlog(make_folder):
    folder = make_folder()
    drop(folder, "members.csv", csv_bytes(MEMBERS))
    scan.scan_folder(folder.pk)
    DropFolder.objects.filter(pk=folder.pk).update(
        sightings={
            "members.csv": {
                **DropFolder.objects.get(pk=folder.pk).sightings["members.csv"],
                "since": (timezone.now() - datetime.timedelta(hours=1)).isoformat(),
            }
        }
    )
    touch_later(drop(folder, "members.csv", csv_bytes(MEMBERS)))
    scan.scan_folder(folder.pk)
    [health] = [item for item in connections() if item.name == "store-12"]
    assert health.backlog == 1
    assert health.level(timezone.now()) == "danger"  # waiting for an hour: a stuck copy


def test_kept_files_are_deleted_after_the_keep_days(make_folder, tmp_path, settings):
    folder = make_folder()
    drop(folder, "members.csv", csv_bytes(MEMBERS))
    scan_twice(folder)
    run_queued_imports()
    scan.scan_folder(folder.pk)
    processed = tmp_path / "drop" / "store-12" / "processed" / "members.csv"
    assert processed.exists()
    DropFile.objects.update(
        settled_at=timezone.now() - datetime.timedelta(days=settings.DROP_FOLDER_KEEP_DAYS + 1)
    )
    scan.scan_folder(folder.pk)
    assert not processed.exists()
    assert DropFile.objects.get().stored_as == ""


def test_an_inactive_folder_is_not_scanned(make_folder):
    folder = make_folder()
    DropFolder.objects.filter(pk=folder.pk).update(is_active=False)
    drop(folder, "members.csv", csv_bytes(MEMBERS))
    assert scan.scan_all() == 0
    assert scan.scan_all() == 0
    assert not DropFile.objects.exists()

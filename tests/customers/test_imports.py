"""The customer import end to end below the web layer: upload, mapping, preview, the worker's
run, matching and policies, idempotence, the error report, permissions and crash safety."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts.team_services import create_team, place_in_team
from customers import services
from customers.imports import customer_rows, jobs
from customers.models import Customer, ExternalId, ImportJob, Tag
from kernel.models import JobStatus, job_stalled_after
from privacy import crypto, roles
from privacy.models import AuditEvent
from tests.customers.importfiles import csv_bytes, upload, xlsx_bytes
from tests.factories import CustomerFactory
from tests.planner_statistics import forget_statistics, unanalysed

pytestmark = pytest.mark.django_db

HEADERS = [
    "客户编号",
    "姓名",
    "手机号码",
    "邮箱",
    "性别",
    "生日",
    "城市",
    "标签",
    "身份证号",
    "备注",
]
ROWS = [
    [
        "C001",
        "王丽娟",
        "138 0013 8000",
        "WLJ@Example.com",
        "女",
        "1990-02-30",
        "上海",
        "VIP;老客户",
        "",
        "第一行",
    ],
    ["C002", "张伟", "1.38001E+10", "", "男", "1985/3/4", "北京", "", "", ""],
    [
        "C003",
        "Anna Schmidt",
        "+49 30 1234567",
        "anna@example.de",
        "F",
        "19900101",
        "Berlin",
        "新客",
        "",
        "",
    ],
    ["C004", "王 丽娟", "+86 13800138000", "", "", "", "", "促销", "", "同一个人"],
    ["C005", "", "", "nobody@example.com", "", "", "", "", "", ""],
    ["C006", "李雷", "13900139000", "", "", "", "", "", "11010519491231002X", ""],
]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _import(actor, content, *, name="customers.csv", start=True, dry_run=False, **options):
    job = jobs.create_import(actor=actor, kind="customers", upload=upload(name, content))
    options.setdefault("source_name", "shop")
    jobs.configure_import(
        actor=actor, job=job, mapping=options.pop("mapping", job.mapping), **options
    )
    if start:
        jobs.start_import(actor=actor, job=job, dry_run=dry_run)
        jobs.IMPORT_JOBS.run(job.pk)
    job.refresh_from_db()
    return job


def _counts(job):
    return (job.rows_created, job.rows_updated, job.rows_unchanged, job.rows_failed)


def test_rows_are_cleaned_matched_and_reported(admin_user_role):
    job = _import(admin_user_role, csv_bytes([HEADERS, *ROWS]))
    assert job.status == JobStatus.DONE
    assert job.rows_total == 6
    # Rejected: C001 (impossible birth date), C002 (phone lost by Excel), C005 (no name).
    assert _counts(job) == (3, 0, 0, 3)
    wang = Customer.objects.get(phone="+8613800138000")
    assert (wang.name, wang.family_name, wang.given_name) == ("王丽娟", "王", "丽娟")
    assert wang.source_channel == "import"
    assert wang.source_detail == "shop"
    assert wang.import_job == job
    assert list(wang.external_ids.values_list("system", "external_id")) == [("shop", "C004")]
    anna = Customer.objects.get(email="anna@example.de")
    assert (anna.phone, anna.gender, anna.birth_date.isoformat()) == (
        "+49301234567",
        "female",
        "1990-01-01",
    )
    li = Customer.objects.get(name="李雷")
    assert li.id_number_blind_index == crypto.blind_index(
        "11010519491231002X", context="customers.Customer.id_number"
    )
    assert li.birth_date.isoformat() == "1949-12-31"
    assert li.gender == "female"
    report = list(jobs.report_rows(job))
    assert [line[:4] for line in report] == [
        ["2", "生日", "1990-02-30", "Error"],
        ["3", "手机号码", "1.38001E+10", "Error"],
        ["6", "姓名", "", "Error"],
    ]
    assert report[0][4] == "This is not a real calendar date."


def test_invalid_optional_values_can_be_dropped_with_a_warning(admin_user_role):
    job = _import(admin_user_role, csv_bytes([HEADERS, *ROWS]), invalid_values="drop")
    assert _counts(job) == (4, 1, 0, 1)  # only the row without any name fails
    zhang = Customer.objects.get(name="张伟")
    assert zhang.phone == ""
    assert zhang.gender == "male"
    # C001 and C004 are one customer (same phone): combined, C004 filling what C001 lacked.
    wang = Customer.objects.get(phone="+8613800138000")
    assert (wang.email, wang.gender, wang.city, wang.birth_date) == (
        "wlj@example.com",
        "female",
        "上海市",
        None,
    )
    assert set(wang.tags.values_list("name", flat=True)) == {"VIP", "老客户", "促销"}
    assert set(wang.external_ids.values_list("external_id", flat=True)) == {"C001", "C004"}
    assert job.warnings == 3
    report = list(jobs.report_rows(job))
    assert ["5", "手机号码", "+86 13800138000", "Warning"] in [line[:4] for line in report]


def test_a_row_with_unreadable_or_over_long_text_is_reported_and_the_others_imported(
    admin_user_role,
):
    headers = ["客户编号", "姓名", "城市", "备注"]
    rows = [
        ["C1", "王丽娟", "上海", "好客户"],
        ["C2", "张\ufffd伟", "北京", ""],  # a cell someone's tool could not decode
        ["C3", "李雷", "广\x07州", ""],  # a control character
        ["C4", "韩梅梅", "深圳", "备" * 10_001],
        ["C5", "Anna Schmidt", "Berlin", ""],
    ]
    job = _import(admin_user_role, csv_bytes([headers, *rows]))
    assert _counts(job) == (2, 0, 0, 3)
    assert set(Customer.objects.values_list("name", flat=True)) == {"王丽娟", "Anna Schmidt"}
    report = [line[:5] for line in jobs.report_rows(job)]
    unreadable = "This contains characters that could not be read. Retype it."
    assert report == [
        ["3", "姓名", "张\ufffd伟", "Error", unreadable],
        ["4", "城市", "广\ufffd州", "Error", unreadable],
        ["5", "备注", "备" * 200, "Error", "This value is longer than 10000 characters."],
    ]


def test_importing_the_same_file_again_changes_nothing(admin_user_role):
    content = csv_bytes([HEADERS, *ROWS])
    first = _import(admin_user_role, content, invalid_values="drop")
    snapshot = list(Customer.objects.order_by("pk").values())
    again = _import(admin_user_role, content, invalid_values="drop")
    assert _counts(again) == (0, 0, 5, 1)
    assert list(Customer.objects.order_by("pk").values()) == snapshot
    assert Customer.objects.count() == first.rows_created
    assert ExternalId.objects.count() == 5  # C001-C004 and C006


def test_rows_without_any_identifier_match_on_name_and_details(admin_user_role):
    content = csv_bytes([["姓名", "城市"], ["赵敏", "杭州"], ["赵敏", "苏州"]])
    _import(admin_user_role, content)
    again = _import(admin_user_role, content)
    assert _counts(again) == (0, 0, 2, 0)
    assert Customer.objects.filter(name="赵敏").count() == 2


@pytest.mark.parametrize(
    ("policy", "city", "email", "counts"),
    [
        # Cities are stored in their official form (customers/places.py).
        ("fill", "上海市", "new@example.com", (0, 1, 0, 0)),
        ("overwrite", "杭州市", "new@example.com", (0, 1, 0, 0)),
        ("skip", "上海市", "", (0, 0, 1, 0)),
    ],
)
def test_update_policies(admin_user_role, policy, city, email, counts):
    existing = CustomerFactory(name="王丽娟", phone="13800138000", city="上海")
    content = csv_bytes(
        [["姓名", "手机", "城市", "邮箱"], ["王丽娟", "13800138000", "杭州", "new@example.com"]]
    )
    job = _import(admin_user_role, content, policy=policy)
    existing.refresh_from_db()
    assert (existing.city, existing.email) == (city, email)
    assert _counts(job) == counts


def test_match_order_is_external_id_then_phone_email_and_id_number(admin_user_role):
    by_ext = CustomerFactory(name="A", external_ids=[("shop", "X1")])
    by_phone = CustomerFactory(name="B", phone="13700137000")
    by_email = CustomerFactory(name="C", email="c@example.com")
    by_id = CustomerFactory(
        name="D", id_document_kind="cn_resident", id_number="11010519491231002X"
    )
    content = csv_bytes(
        [
            ["id", "name", "phone", "email", "身份证号"],
            ["X1", "A2", "13700137000", "", ""],
            ["", "B2", "13700137000", "c@example.com", ""],
            ["", "C2", "", "C@EXAMPLE.COM", ""],
            ["", "D2", "", "", "110105194912310020".replace("0020", "002X")],
        ]
    )
    job = _import(admin_user_role, content, policy="overwrite")
    assert _counts(job) == (0, 4, 0, 0)
    assert [
        c.name
        for c in Customer.objects.filter(
            pk__in=[by_ext.pk, by_phone.pk, by_email.pk, by_id.pk]
        ).order_by("pk")
    ] == ["A2", "B2", "C2", "D2"]


def test_all_or_nothing_writes_nothing_when_a_row_fails(admin_user_role):
    job = _import(admin_user_role, csv_bytes([HEADERS, *ROWS]), all_or_nothing=True)
    assert job.status == JobStatus.FAILED
    assert "nothing was imported" in job.failure
    assert job.rows_failed == 3
    assert Customer.objects.count() == 0
    assert job.issues.filter(severity="error").count() == 3


def test_all_or_nothing_imports_a_clean_file(admin_user_role):
    job = _import(
        admin_user_role, csv_bytes([HEADERS, ROWS[0][:5] + [""] * 5, ROWS[2]]), all_or_nothing=True
    )
    assert job.status == JobStatus.DONE
    assert _counts(job) == (2, 0, 0, 0)


def test_a_dry_run_counts_without_writing(admin_user_role):
    job = _import(admin_user_role, csv_bytes([HEADERS, *ROWS]), dry_run=True)
    assert job.status == JobStatus.DONE
    assert job.dry_run
    assert job.rows_created == 3
    assert job.rows_failed == 3
    assert Customer.objects.count() == 0


# The same customers again, in later batches (of two rows): Wang's row repeated as it was, then
# with an email he did not have; Li's once more with nothing new.
REPEATED = [
    ["姓名", "手机", "邮箱"],
    ["王伟", "13800138000", ""],
    ["李娜", "13900139000", ""],
    ["赵敏", "13700137000", ""],
    ["王伟", "138 0013 8000", ""],
    ["王伟", "+86 13800138000", "wang@example.com"],
    ["李娜", "13900139000", ""],
]


@pytest.mark.parametrize("policy", ["fill", "overwrite", "skip"])
def test_a_dry_run_counts_a_customer_repeated_in_later_batches_as_the_import_does(
    admin_user_role, settings, policy
):
    """A dry run rolls each batch back, so a later batch does not find the customers of an
    earlier one in the database; it finds them among the keys the pass kept (earlier_rows)
    and counts each customer once, as the import itself does."""
    settings.IMPORT_BATCH_SIZE = 2
    dry_run = _import(admin_user_role, csv_bytes(REPEATED), dry_run=True, policy=policy)
    assert Customer.objects.count() == 0
    imported = _import(admin_user_role, csv_bytes(REPEATED), policy=policy)
    assert _counts(dry_run) == _counts(imported)
    updated = 0 if policy == "skip" else 1
    assert _counts(imported) == (3, updated, 2 - updated + 1, 0)
    assert Customer.objects.count() == 3


def _counted_once(actor, rows, **options):
    """The dry run's counts, then the import's, of the same file: the customers created and
    the rows failed agree. (Whether a repeat updates its customer or leaves it unchanged is
    judged against the customer as the database held it before the pass, so a repeat that
    restates what an earlier batch changed may count as updated in the dry run.)"""
    dry_run = _import(actor, csv_bytes(rows), dry_run=True, **options)
    imported = _import(actor, csv_bytes(rows), **options)
    created, updated, unchanged, failed = _counts(dry_run)
    assert (created, updated + unchanged, failed) == (
        imported.rows_created,
        imported.rows_updated + imported.rows_unchanged,
        imported.rows_failed,
    )
    return _counts(imported)


def test_a_dry_run_finds_a_value_an_earlier_batch_gave_a_customer_already_there(
    admin_user_role, settings
):
    settings.IMPORT_BATCH_SIZE = 2
    CustomerFactory(name="王伟", phone="+8613800138000", email="")
    rows = [
        ["姓名", "手机", "邮箱"],
        ["王伟", "13800138000", "wang@example.com"],
        ["李娜", "13900139000", ""],
        ["王伟", "", "wang@example.com"],
    ]
    assert _counted_once(admin_user_role, rows) == (1, 1, 1, 0)


def test_a_dry_run_matches_repeats_only_by_what_the_importer_may_match_on(sales_user, settings):
    """Identity numbers match only for those who may reveal them: a salesperson's repeated
    identity number makes a second customer in the import, and so in the dry run."""
    settings.IMPORT_BATCH_SIZE = 2
    rows = [
        ["姓名", "身份证号"],
        ["李雷", "11010519491231002X"],
        ["韩梅梅", "110105198001010016"],
        ["李雷", "11010519491231002X"],
    ]
    assert _counted_once(sales_user, rows) == (3, 0, 0, 0)


def test_all_or_nothing_validates_a_file_of_repeated_customers_and_imports_it(
    admin_user_role, settings
):
    settings.IMPORT_BATCH_SIZE = 2
    job = _import(admin_user_role, csv_bytes(REPEATED), all_or_nothing=True)
    assert job.status == JobStatus.DONE
    assert _counts(job) == (3, 1, 2, 0)
    wang = Customer.objects.get(phone="+8613800138000")
    assert wang.email == "wang@example.com"


def test_preview_shows_outcomes_and_writes_nothing(admin_user_role):
    job = _import(admin_user_role, csv_bytes([HEADERS, *ROWS]), start=False)
    preview = jobs.preview_import(job)
    assert [row.outcome for row in preview] == [
        "failed",
        "failed",
        "created",
        "created",
        "failed",
        "created",
    ]
    assert Customer.objects.count() == 0
    assert Tag.objects.count() == 0


def test_xlsx_and_gbk_files_import_the_same(admin_user_role):
    rows = [["姓名", "手机", "生日"], ["王丽娟", 13800138000, "1990-01-05"]]
    from_xlsx = _import(admin_user_role, xlsx_bytes(rows), name="a.xlsx")
    from_gbk = _import(admin_user_role, csv_bytes(rows, encoding="gbk"), name="a.csv")
    assert _counts(from_xlsx) == (1, 0, 0, 0)
    assert _counts(from_gbk) == (0, 0, 1, 0)


def test_a_hostile_file_is_refused_at_upload_and_not_kept(admin_user_role, settings):
    with pytest.raises(ValidationError) as refused:
        jobs.create_import(
            actor=admin_user_role,
            kind="customers",
            upload=upload("x.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00"),
        )
    assert "not a text table" in str(refused.value)
    assert not ImportJob.objects.exists()
    assert not list((settings.MEDIA_ROOT / "imports").rglob("*.csv"))


def test_a_structural_problem_late_in_the_file_fails_the_job_before_any_write(admin_user_role):
    rows = [["姓名", "手机"]] + [[f"王{i}", f"1380013{i:04d}"] for i in range(3000)]
    content = csv_bytes(rows) + b"broken,row,with,extra,cells\r\n"
    job = _import(admin_user_role, content)
    assert job.status == JobStatus.FAILED
    assert "3002" in job.failure
    assert Customer.objects.count() == 0


def test_sales_import_as_owner_and_cannot_change_others_customers(sales_user, other_sales_user):
    """A phone matches only customers whose phone the importer may see: a colleague's customer
    is neither changed nor revealed (the row makes a customer of the importer's own, which
    the duplicate scan then puts before a reviewer)."""
    theirs = CustomerFactory(name="王", phone="13800138000", owner=other_sales_user, notes="")
    content = csv_bytes(
        [["姓名", "手机", "备注"], ["王", "13800138000", "x"], ["李", "13900139000", ""]]
    )
    job = _import(sales_user, content, policy="overwrite")
    assert _counts(job) == (2, 0, 0, 0)
    assert not job.issues.exists()
    assert set(Customer.objects.filter(owner=sales_user).values_list("name", flat=True)) == {
        "王",
        "李",
    }
    theirs.refresh_from_db()
    assert (theirs.owner, theirs.notes) == (other_sales_user, "")


def test_sales_preview_treats_a_masked_phone_as_it_treats_an_unknown_one(sales_user):
    """Row by row, the preview would otherwise tell which guessed number is the unassigned
    customer's (shown to Sales as 136****0409)."""
    CustomerFactory(name="林", phone="13600000409")
    rows = [["姓名", "手机"], ["林", "13600000409"], ["林", "13600001234"]]
    job = _import(sales_user, csv_bytes(rows), start=False)
    assert [row.outcome for row in jobs.preview_import(job)] == ["created", "created"]
    assert [row.issues for row in jobs.preview_import(job)] == [[], []]


def test_a_row_matched_by_id_leaves_the_details_hidden_from_the_importer_alone(sales_user):
    """Sales are shown an unassigned customer's phone masked: a row that finds the customer by
    the source system's id answers the same whether its phone is the stored one or not, and
    changes neither phone nor identity number."""
    unassigned = CustomerFactory(name="王", phone="13800138000")
    services.add_external_id(actor=None, customer=unassigned, system="shop", external_id="7")
    answers = []
    for guess in ("13800138000", "13900139000"):
        rows = [["客户编号", "姓名", "手机"], ["7", "王", guess]]
        job = _import(sales_user, csv_bytes(rows), start=False, policy="overwrite")
        [row] = jobs.preview_import(job)
        answers.append((row.outcome, [str(issue.message) for issue in row.issues]))
    assert answers[0] == answers[1]
    assert answers[0][0] == "unchanged"
    assert "hidden from you" in answers[0][1][0]
    job = _import(sales_user, csv_bytes([["客户编号", "手机"], ["7", "13900139000"]]))
    unassigned.refresh_from_db()
    assert unassigned.phone == "+8613800138000"


def test_sales_import_does_not_take_over_unassigned_customers(sales_user):
    """An unassigned customer (phone shown masked to Sales) is matched by the source system's
    id, updated, and stays unassigned: an import is no way to own, and so unmask, it."""
    unassigned = CustomerFactory(name="王", phone="13800138000", city="")
    services.add_external_id(actor=None, customer=unassigned, system="shop", external_id="7")
    content = csv_bytes([["客户编号", "姓名", "城市"], ["7", "王", "杭州"]])
    job = _import(sales_user, content, source_name="shop")
    assert _counts(job) == (0, 1, 0, 0)
    unassigned.refresh_from_db()
    assert (unassigned.city, unassigned.owner) == ("杭州市", None)


def test_only_importers_may_import_and_only_their_own_jobs(
    analyst_user, sales_user, other_sales_user
):
    with pytest.raises(PermissionDenied):
        jobs.create_import(
            actor=analyst_user,
            kind="customers",
            upload=upload("a.csv", csv_bytes([["姓名"], ["王"]])),
        )
    job = _import(sales_user, csv_bytes([["姓名"], ["王"]]), start=False)
    with pytest.raises(PermissionDenied):
        jobs.start_import(actor=other_sales_user, job=job)
    assert not jobs.jobs_visible_to(other_sales_user).filter(pk=job.pk).exists()


def test_a_teams_manager_sees_and_runs_the_import_jobs_of_their_members(
    make_user, sales_user, other_sales_user
):
    from accounts.models import Team, TeamMembership

    manager = make_user(roles.SALES)
    TeamMembership.objects.create(
        team=Team.objects.create(name="East", manager=manager), user=sales_user
    )
    members_job = _import(sales_user, csv_bytes([["姓名"], ["王"]]), start=False)
    outsiders_job = _import(other_sales_user, csv_bytes([["姓名"], ["李"]]), start=False)
    assert list(jobs.jobs_visible_to(manager)) == [members_job]
    jobs.start_import(actor=manager, job=members_job, queue=False)
    with pytest.raises(PermissionDenied):
        jobs.start_import(actor=manager, job=outsiders_job)
    # The member sees only their own, not the manager's.
    managers_job = _import(manager, csv_bytes([["姓名"], ["赵"]]), start=False)
    assert managers_job not in jobs.jobs_visible_to(sales_user)


def test_a_mapping_needs_a_name_or_an_identifier(admin_user_role):
    job = jobs.create_import(
        actor=admin_user_role,
        kind="customers",
        upload=upload("a.csv", csv_bytes([["城市"], ["上海"]])),
    )
    with pytest.raises(ValidationError):
        jobs.configure_import(actor=admin_user_role, job=job, mapping=["city"])
    with pytest.raises(ValidationError):
        jobs.configure_import(
            actor=admin_user_role, job=job, mapping=["external_id"], source_name=""
        )


def test_templates_remember_a_mapping_by_header(admin_user_role):
    job = _import(
        admin_user_role,
        csv_bytes([["Col A", "Col B"], ["王", "13800138000"]]),
        start=False,
        mapping=["name", "phone"],
        template_name="POS export",
    )
    other = jobs.create_import(
        actor=admin_user_role,
        kind="customers",
        upload=upload("b.csv", csv_bytes([["col b", "COL A"], ["1", "2"]])),
    )
    template = jobs.templates_for("customers").get(name="POS export")
    assert job.mapping == ["name", "phone"]
    assert jobs.apply_template(other, template) == ["phone", "name"]


def test_the_import_is_audited_without_personal_data(admin_user_role):
    job = _import(admin_user_role, csv_bytes([HEADERS, *ROWS]))
    events = AuditEvent.objects.filter(target_type="customers.importjob", target_id=str(job.pk))
    assert list(events.order_by("pk").values_list("action", flat=True)) == [
        "import.upload",
        "import.start",
        "import.done",
    ]
    assert events.get(action="import.done").changes["created"] == 3
    assert "138" not in str(list(events.values_list("changes", flat=True)))


def test_a_second_worker_on_the_same_job_does_not_write_twice(admin_user_role, settings):
    """A redelivered message finds the job's checkpoint moved and stops (no duplicates)."""
    settings.IMPORT_BATCH_SIZE = 2
    rows = [["姓名", "手机"]] + [[f"王{i}", f"1380013{i:04d}"] for i in range(7)]
    job = _import(admin_user_role, csv_bytes(rows), start=False)
    jobs.start_import(actor=admin_user_role, job=job)
    jobs.IMPORT_JOBS.run(job.pk)
    jobs.IMPORT_JOBS.run(job.pk)  # the same message delivered again
    job.refresh_from_db()
    assert _counts(job) == (7, 0, 0, 0)
    assert Customer.objects.count() == 7


def test_a_crashed_job_resumes_after_its_last_committed_batch(
    admin_user_role, settings, monkeypatch
):
    settings.IMPORT_BATCH_SIZE = 3
    rows = [["姓名", "手机"]] + [[f"王{i}", f"1380013{i:04d}"] for i in range(10)]
    job = _import(admin_user_role, csv_bytes(rows), start=False)
    jobs.start_import(actor=admin_user_role, job=job)
    from customers.imports import customer_rows

    real_write = customer_rows.write_batch
    calls = []

    def crash_on_third_batch(prepared, options):
        calls.append(len(prepared))
        if len(calls) == 3:
            real_write(prepared, options)  # written, then the worker dies before committing
            raise RuntimeError("worker lost")
        return real_write(prepared, options)

    monkeypatch.setattr(customer_rows, "write_batch", crash_on_third_batch)
    jobs.IMPORT_JOBS.run(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.resumable
    assert job.checkpoint_row == 7
    assert Customer.objects.count() == 6
    monkeypatch.setattr(customer_rows, "write_batch", real_write)
    jobs.resume_import(actor=admin_user_role, job=job)
    jobs.IMPORT_JOBS.run(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.DONE
    assert _counts(job) == (10, 0, 0, 0)
    assert Customer.objects.count() == 10


def test_cancel_stops_a_queued_job(admin_user_role):
    job = _import(admin_user_role, csv_bytes([["姓名"], ["王"]]), start=False)
    jobs.start_import(actor=admin_user_role, job=job)
    jobs.cancel_import(actor=admin_user_role, job=job)
    jobs.IMPORT_JOBS.run(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    assert Customer.objects.count() == 0


def test_the_uploaded_file_goes_when_the_job_is_done(
    admin_user_role, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        job = _import(admin_user_role, csv_bytes([["姓名"], ["王"]]))
    assert job.status == JobStatus.DONE
    assert not list((settings.MEDIA_ROOT / "imports").rglob("*.csv"))


def test_abandoned_drafts_are_given_up_with_their_files(
    admin_user_role, settings, django_capture_on_commit_callbacks
):
    import datetime

    job = _import(admin_user_role, csv_bytes([["姓名"], ["王"]]), start=False)
    later = job.created_at + datetime.timedelta(days=settings.IMPORT_FILE_RETENTION_DAYS + 1)
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.delete_abandoned_imports(now=later) == 1
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    assert not list((settings.MEDIA_ROOT / "imports").rglob("*.csv"))


def test_identity_numbers_never_reach_the_report_unmasked(admin_user_role):
    rows = [["姓名", "身份证号"], ["王", "110105194912310021"]]  # wrong check digit
    job = _import(admin_user_role, csv_bytes(rows))
    [line] = list(jobs.report_rows(job))
    assert line[1] == "身份证号"
    assert "110105194912310021" not in line[2]
    assert line[2].startswith("110")
    assert line[2].endswith("0021")


def test_a_fill_import_never_switches_a_withdrawn_consent_back_on(admin_user_role):
    customer = CustomerFactory(name="王", phone="13800138000", consent_email=False)
    rows = [["姓名", "手机", "同意邮件营销"], ["王", "13800138000", "是"]]
    _import(admin_user_role, csv_bytes(rows), policy="fill")
    customer.refresh_from_db()
    assert customer.consent_email is False
    _import(admin_user_role, csv_bytes(rows), policy="overwrite")
    customer.refresh_from_db()
    assert customer.consent_email is True


def test_a_redelivered_message_leaves_a_live_run_alone_and_takes_over_a_dead_one(
    admin_user_role,
):
    job = _import(admin_user_role, csv_bytes([["姓名"], ["王"]]), start=False)
    jobs.start_import(actor=admin_user_role, job=job, queue=False)
    ImportJob.objects.filter(pk=job.pk).update(
        status="running", heartbeat_at=timezone.now(), run_token="someone-else"
    )
    jobs.IMPORT_JOBS.run(job.pk)  # the other run is alive: nothing happens
    job.refresh_from_db()
    assert (job.status, job.run_token, Customer.objects.count()) == ("running", "someone-else", 0)
    ImportJob.objects.filter(pk=job.pk).update(
        heartbeat_at=timezone.now() - job_stalled_after() * 2
    )
    jobs.IMPORT_JOBS.run(job.pk)  # the other run is presumed dead: this one takes over
    job.refresh_from_db()
    assert job.status == JobStatus.DONE
    assert Customer.objects.count() == 1


def test_a_customer_import_leaves_the_tables_it_wrote_analysed(admin_user_role):
    # Issue 18: planned on tables a COPY filled and nothing analysed, the next job's reads
    # (an order import's lookups, the nightly metrics) looped over every row for minutes.
    tables = customer_rows.TABLES_WRITTEN
    forget_statistics(*tables)
    job = _import(admin_user_role, csv_bytes([HEADERS, *ROWS]), invalid_values="drop")
    assert job.status == JobStatus.DONE
    assert job.rows_created
    assert unanalysed(*tables) == []


def test_a_team_manager_imports_onto_a_members_customer(sales_user, other_sales_user):
    """The manager of the team `other_sales_user` is in sees that member's customers' phones,
    so a row matches one by phone and updates it, as it would for the member."""
    team = create_team(actor=None, name="East", manager=sales_user)
    place_in_team(actor=None, team=team, member=other_sales_user)
    theirs = CustomerFactory(name="王", phone="13800138000", owner=other_sales_user, notes="")
    job = _import(
        sales_user,
        csv_bytes([["姓名", "手机", "备注"], ["王", "13800138000", "x"]]),
        policy="overwrite",
    )
    assert _counts(job) == (0, 1, 0, 0)
    theirs.refresh_from_db()
    assert (theirs.owner, theirs.notes) == (other_sales_user, "x")

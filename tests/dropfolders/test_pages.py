"""The administrators' drop folder pages: create and change a folder (checked and audited), the
list and a folder's page with its recent files and their imports."""

from __future__ import annotations

import pytest

from customers.models import ImportTemplate
from dropfolders import scan, services
from dropfolders.models import DropFolder
from dropfolders.selectors import folder_health
from privacy import roles
from privacy.models import AuditEvent
from tests.customers.importfiles import csv_bytes
from tests.dropfolders.folders import drop, run_queued_imports, scan_twice
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, admin_user_role):
    client.force_login(admin_user_role)
    return client


def _posted(importer, **changes):
    return {
        "name": "Store 12",
        "path": "store-12",
        "kind": "customers",
        "template": "",
        "source_name": "store-12",
        "source_channel": "pos",
        "owner": "",
        "run_as": importer.pk,
        "is_active": "on",
        **changes,
    }


def test_an_administrator_creates_a_folder_under_the_drop_root(admin_client, importer):
    response = admin_client.post("/drop-folders/new/", _posted(importer))
    folder = DropFolder.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/drop-folders/{folder.pk}/"
    assert (folder.path, folder.kind, folder.run_as, folder.source_channel) == (
        "store-12",
        "customers",
        importer,
        "pos",
    )
    event = AuditEvent.objects.get(action="dropfolder.create")
    assert event.changes["path"] == "store-12"
    assert "Store 12" in admin_client.get("/drop-folders/").content.decode()


def test_a_folder_given_by_name_is_made_for_the_pos_to_write_into(admin_client, importer, tmp_path):
    admin_client.post("/drop-folders/new/", _posted(importer, path="store-7"))
    assert (tmp_path / "drop" / "store-7").is_dir()
    folder = DropFolder.objects.get()
    scan.scan_folder(folder.pk)
    folder.refresh_from_db()
    assert folder.problem == ""
    admin_client.post(f"/drop-folders/{folder.pk}/edit/", _posted(importer, path="store-7b"))
    assert (tmp_path / "drop" / "store-7b").is_dir()


def test_a_named_folder_the_server_cannot_make_is_refused_with_the_reason(
    admin_client, importer, tmp_path
):
    (tmp_path / "drop" / "taken").write_text("a file where the folder would go")
    response = admin_client.post("/drop-folders/new/", _posted(importer, path="taken"))
    assert response.status_code == 200
    assert "The server could not make this folder" in response.content.decode()
    assert not DropFolder.objects.exists()


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/etc", "Drop folders may only be inside"),
        ("../media", "Give a name of letters"),
        ("store 12/x", "Give a name of letters"),
    ],
)
def test_a_folder_outside_the_allowed_places_is_refused(admin_client, importer, path, message):
    response = admin_client.post("/drop-folders/new/", _posted(importer, path=path))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not DropFolder.objects.exists()


def test_an_absolute_path_under_an_allowed_root_is_accepted(importer, tmp_path):
    folder = services.create_folder(
        actor=None,
        name="HQ",
        path=str(tmp_path / "pos-exports" / "hq"),
        kind="transactions",
        run_as=importer,
    )
    assert folder.path.endswith("pos-exports/hq")


def test_the_import_user_must_be_allowed_to_import(importer):
    analyst = UserFactory(role=roles.ANALYST)
    with pytest.raises(services.ValidationError) as refused:
        services.create_folder(actor=None, name="X", path="x", kind="customers", run_as=analyst)
    assert refused.value.message_dict["run_as"] == ["This user may not import."]


def test_a_template_of_another_kind_is_refused(importer):
    template = ImportTemplate.objects.create(
        kind="transactions", name="Orders", columns={}, created_by=importer
    )
    with pytest.raises(services.ValidationError) as refused:
        services.create_folder(
            actor=None, name="X", path="x", kind="customers", template=template, run_as=importer
        )
    assert "another kind of file" in refused.value.message_dict["template"][0]


def test_changing_the_folder_forgets_what_was_seen_arriving_and_is_audited(
    admin_client, make_folder, importer
):
    folder = make_folder()
    drop(folder, "a.csv", b"x")
    scan.scan_folder(folder.pk)
    response = admin_client.post(
        f"/drop-folders/{folder.pk}/edit/", _posted(importer, name="store-12", path="store-13")
    )
    assert response.status_code == 302
    folder.refresh_from_db()
    assert (folder.path, folder.sightings, folder.waiting) == ("store-13", {}, 0)
    event = AuditEvent.objects.get(action="dropfolder.update")
    assert event.changes == {"path": ["store-12", "store-13"]}


def test_the_folders_page_lists_its_files_with_links_to_their_imports(admin_client, make_folder):
    folder = make_folder()
    drop(
        folder,
        "会员.csv",
        csv_bytes([["姓名", "手机号码"], ["王丽娟", "13800138000"]], encoding="gbk"),
    )
    scan_twice(folder)
    [job] = run_queued_imports()
    page = admin_client.get(f"/drop-folders/{folder.pk}/").content.decode()
    assert "会员.csv" in page
    assert f'href="/imports/{job.pk}/"' in page
    assert "processing/会员.csv" in page


def test_the_operations_page_shows_each_folders_health_in_one_query(
    admin_client, make_folder, tmp_path, django_assert_num_queries
):
    for number in range(3):
        make_folder(name=f"store-{number}")
    (tmp_path / "drop" / "store-1").rmdir()
    scan.scan_all()
    with django_assert_num_queries(1):
        health = list(folder_health())
    assert [item.name for item in health] == ["store-0", "store-1", "store-2"]
    page = admin_client.get("/operations/").content.decode()
    assert "store-1" in page
    assert "The folder does not exist." in page

"""A drop folder on disk (under the test's own DROP_FOLDER_ROOT), made through the service
as the folder's page makes it, importing as an administrator."""

from __future__ import annotations

import pytest

from dropfolders import services
from dropfolders.models import DropFolder
from privacy import roles
from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def _places(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DROP_FOLDER_ROOT = tmp_path / "drop"
    settings.DROP_FOLDER_ALLOWED_ROOTS = [str(tmp_path / "pos-exports")]
    (tmp_path / "drop").mkdir()


@pytest.fixture
def importer(db):
    return UserFactory(role=roles.ADMINISTRATOR, username="pos-import")


@pytest.fixture
def make_folder(importer, tmp_path):
    def make(name: str = "store-12", kind: str = "customers", **values) -> DropFolder:
        values.setdefault("path", name)
        folder = services.create_folder(
            actor=None,
            name=name,
            kind=kind,
            template=values.pop("template", None),
            source_name=values.pop("source_name", "store-12"),
            source_channel=values.pop("source_channel", "pos"),
            owner=values.pop("owner", None),
            run_as=values.pop("run_as", importer),
            is_active=True,
            **values,
        )
        (tmp_path / "drop" / name).mkdir(exist_ok=True)
        return folder

    return make

"""The administrators' drop folder pages (/drop-folders/): the folders and their state, a
folder's settings, and its recent files with their imports. Every write goes through
dropfolders/services.py."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.generic import FormView, TemplateView

from dropfolders import paths, selectors, services
from dropfolders.forms import FolderForm
from dropfolders.models import DropFolder


class DropFoldersPermissionMixin(PermissionRequiredMixin):
    permission_required = "dropfolders.manage_drop_folders"


class FolderListView(DropFoldersPermissionMixin, TemplateView):
    template_name = "dropfolders/list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(folders=selectors.folders(), **kwargs)


class FolderFormView(DropFoldersPermissionMixin, FormView):
    """New folder (no pk) or a folder's settings."""

    form_class = FolderForm
    template_name = "dropfolders/form.html"

    def setup(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        super().setup(request, *args, **kwargs)
        pk = kwargs.get("pk")
        self.folder = get_object_or_404(DropFolder, pk=pk) if pk else None

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "instance": self.folder}

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(
            folder=self.folder,
            drop_root=settings.DROP_FOLDER_ROOT,
            allowed_roots=paths.allowed_roots(),
            **kwargs,
        )

    def form_valid(self, form: FolderForm) -> HttpResponse:
        values = {field: form.cleaned_data[field] for field in services.EDITABLE_FIELDS}
        try:
            if self.folder is None:
                folder = services.create_folder(actor=self.request.user, **values)
            else:
                folder = services.update_folder(
                    actor=self.request.user, folder=self.folder, **values
                )
        except ValidationError as refused:
            form.add_error(None, refused)
            return self.form_invalid(form)
        messages.success(self.request, _("The drop folder was saved."))
        return HttpResponseRedirect(reverse("dropfolders:detail", args=[folder.pk]))


class FolderDetailView(DropFoldersPermissionMixin, TemplateView):
    template_name = "dropfolders/detail.html"

    def get_context_data(self, pk: int, **kwargs: Any) -> dict[str, Any]:
        folder = get_object_or_404(selectors.folders(), pk=pk)
        return super().get_context_data(
            folder=folder,
            location=paths.resolve(folder.path),
            files=selectors.recent_files(folder),
            **kwargs,
        )

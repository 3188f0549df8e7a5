from __future__ import annotations

from typing import Any

from django import forms

from accounts.fields import StaffChoiceField
from accounts.users import active_colleagues
from customers.imports.jobs import importable_kinds
from customers.models import ImportTemplate
from dropfolders import selectors, services
from dropfolders.models import DropFolder


class FolderForm(forms.ModelForm):
    """A folder's settings; the service (dropfolders/services.py) checks the path, the template
    and the import user, and saves it."""

    class Meta:
        model = DropFolder
        fields = list(services.EDITABLE_FIELDS)
        field_classes = {"run_as": StaffChoiceField, "owner": StaffChoiceField}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = importable_kinds()
        self.fields["template"].queryset = ImportTemplate.objects.order_by("kind", "name")
        self.fields["template"].label_from_instance = lambda template: (
            f"{template.get_kind_display()}: {template.name}"
        )
        self.fields["run_as"].queryset = selectors.import_users()
        self.fields["owner"].queryset = active_colleagues()

"""Forms of the import wizard: the upload, and the mapping with its options."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from accounts.fields import StaffChoiceField
from accounts.users import active_colleagues
from customers.imports.files import MAX_FILE_BYTES
from customers.imports.jobs import importable_kinds
from customers.imports.mapping import IGNORE
from customers.models import DateOrder, ImportKind, InvalidValues, SourceChannel, UpdatePolicy
from kernel.free_text import validate_readable_text


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label=_("What the file holds"), choices=importable_kinds)
    file = forms.FileField(
        label=_("File"),
        help_text=_("CSV, TSV or Excel (.xlsx), up to 200 MB; the first row names the columns."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.tsv,.txt,.xlsx"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(
                _("The file is larger than 200 MB. Split it into smaller files.")
            )
        return upload


class ColumnMappingForm(forms.Form):
    """One select per column (a file's header, a generic webhook's payload key) offering the
    kind's fields; subclasses add their options."""

    def __init__(self, *args, headers, fields, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        choices = [(IGNORE, _("— ignore this column —")), *((f.key, f.label) for f in fields)]
        self.column_names = []
        for index, header in enumerate(headers):
            name = f"column_{index}"
            self.fields[name] = forms.ChoiceField(label=header, choices=choices, required=False)
            self.column_names.append(name)

    def column_fields(self):
        return [self[name] for name in self.column_names]

    def option_fields(self):
        return [self[name] for name in self.fields if name not in self.column_names]

    def mapping(self) -> list[str]:
        return [self.cleaned_data.get(name) or IGNORE for name in self.column_names]


class MappingForm(ColumnMappingForm):
    """One select per column of the file, then the options of the run."""

    source_name = forms.CharField(
        label=_("Source system"),
        required=False,
        max_length=50,
        validators=[validate_readable_text],
        help_text=_("The shop or system the file comes from, e.g. “shopify” or “tmall”."),
    )
    source_channel = forms.ChoiceField(
        label=_("Source channel of new customers"), choices=SourceChannel.choices
    )
    policy = forms.ChoiceField(label=_("Existing customers"), choices=UpdatePolicy.choices)
    invalid_values = forms.ChoiceField(
        label=_("An invalid optional value"), choices=InvalidValues.choices
    )
    date_order = forms.ChoiceField(
        label=_("Dates such as 07/04/1980"),
        choices=DateOrder.choices,
        required=False,
        help_text=_(
            "How the file writes dates whose day and month could be swapped. Dates such as "
            "13/04/1980, 1980-04-07 or 1980年4月7日 are read the same whatever you choose."
        ),
    )
    all_or_nothing = forms.BooleanField(
        label=_("All or nothing: import nothing if any row has an error"), required=False
    )
    owner = StaffChoiceField(
        label=_("Owner of new customers"), queryset=get_user_model().objects.none(), required=False
    )
    template_name = forms.CharField(
        label=_("Save this mapping as a template named"),
        required=False,
        max_length=100,
        validators=[validate_readable_text],
    )

    def __init__(self, *args, headers, fields, kind, can_assign_owner, **kwargs) -> None:
        super().__init__(*args, headers=headers, fields=fields, **kwargs)
        if kind != ImportKind.CUSTOMERS:
            del self.fields["source_channel"], self.fields["policy"]
        if can_assign_owner and kind == ImportKind.CUSTOMERS:
            self.fields["owner"].queryset = active_colleagues()
        else:
            del self.fields["owner"]

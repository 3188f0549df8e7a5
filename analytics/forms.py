from django import forms
from django.utils.translation import gettext_lazy as _

from analytics.exports.columns import DEFAULT_COLUMNS, export_columns
from analytics.models import ExportFormat
from privacy.consent import MARKETING_CHANNELS


class ExportForm(forms.Form):
    columns = forms.MultipleChoiceField(
        label=_("Columns"),
        # The custom fields change while the server runs: read when the form is made.
        choices=lambda: [(column.key, column.label) for column in export_columns()],
        initial=DEFAULT_COLUMNS,
        widget=forms.CheckboxSelectMultiple,
    )
    format = forms.ChoiceField(
        label=_("Format"),
        choices=ExportFormat.choices,
        initial=ExportFormat.CSV,
        widget=forms.RadioSelect,
    )
    marketing_channel = forms.ChoiceField(
        label=_("Used for"),
        choices=[("", _("Not for marketing"))]
        + [(channel.value, channel.label) for channel in MARKETING_CHANNELS],
        required=False,
        help_text=_(
            "For marketing, only the customers who consented to that channel are exported."
        ),
    )

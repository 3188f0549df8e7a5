from django import forms
from django.utils.translation import gettext_lazy as _

from kernel.free_text import validate_readable_text
from privacy.models import ConsentPurpose, ConsentRecord


class ConsentForm(forms.Form):
    """A consent given or withdrawn, as staff record it on the customer's page."""

    GRANT, WITHDRAW = "grant", "withdraw"

    purpose = forms.ChoiceField(label=_("purpose"), choices=ConsentPurpose.choices)
    decision = forms.ChoiceField(
        label=_("decision"),
        choices=[(GRANT, _("given")), (WITHDRAW, _("withdrawn"))],
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )
    evidence = forms.CharField(
        label=_("evidence"),
        required=False,
        max_length=ConsentRecord._meta.get_field("evidence").max_length,
        validators=[validate_readable_text],
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_(
            "What the customer said or signed, and where it is kept (for example: signed "
            "form, Nanjing Road store, filed 2026-11-26)."
        ),
    )

    def clean(self):
        cleaned = super().clean()
        # A consent given must be provable; a withdrawal stands on the customer's word.
        if cleaned.get("decision") == self.GRANT and not cleaned.get("evidence", "").strip():
            self.add_error("evidence", _("Say how the customer gave this consent."))
        return cleaned

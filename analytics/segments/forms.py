from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from analytics.models import MARKETING_CHANNEL_CHOICES, Segment, SegmentKind
from analytics.segments.validation import validate
from kernel.version_forms import VersionedFormMixin


class SegmentForm(VersionedFormMixin, forms.ModelForm):
    """Name, description, kind and, for a dynamic segment, its rules as JSON (the builder in
    the browser writes them; without JavaScript they can be typed). The kind is chosen once:
    turning a list into rules would drop the customers put in it by hand."""

    rules = forms.JSONField(
        label=_("Rules"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
    )

    class Meta:
        model = Segment
        fields = ["name", "description", "kind", "marketing_channel", "rules"]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 2}),
            "kind": forms.RadioSelect,
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["kind"].disabled = True
        self.fields["marketing_channel"].choices = [
            ("", _("Not for marketing")),
            *MARKETING_CHANNEL_CHOICES,
        ]
        if not self.instance.pk and not self.initial.get("rules"):
            self.initial["rules"] = {"match": "all", "rules": []}

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("kind") == SegmentKind.STATIC:
            cleaned["rules"] = {}
        elif "rules" in cleaned:
            try:
                validate(cleaned["rules"])
            except ValidationError as problems:
                self.add_error("rules", problems)
        return cleaned


class ListMembersForm(forms.Form):
    """Put customers into a static list, or take them out: the ones ticked in the customer
    list, or every customer its filters show."""

    # It shares the customer list's form with the bulk actions: its own prefix keeps the
    # field names apart, and no browser-side "required" blocks the other action's button.
    prefix = "list"
    use_required_attribute = False

    ADD, REMOVE = "add", "remove"
    SELECTED, MATCHING = "selected", "matching"

    segment = forms.ModelChoiceField(
        label=_("Static list"), queryset=Segment.objects.filter(kind=SegmentKind.STATIC)
    )
    action = forms.ChoiceField(
        label=_("Action"), choices=[(ADD, _("Add to list")), (REMOVE, _("Remove from list"))]
    )
    scope = forms.ChoiceField(
        label=_("Which customers"),
        choices=[(SELECTED, _("the selected ones")), (MATCHING, _("all in this list view"))],
    )

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from customers.custom_fields.models import CHOICE_TYPES, FieldDefinition, FieldTarget, FieldType
from customers.custom_fields.records import choice_labels
from customers.custom_fields.services import SETTINGS, ChoiceSpec


class FieldDefinitionForm(forms.ModelForm):
    """A custom field's settings, its default as typed, and its choices one per line."""

    default_text = forms.CharField(
        label=_("Default"),
        required=False,
        help_text=_("What a new record starts with, written as you would fill it in."),
    )
    choices_text = forms.CharField(
        label=_("Choices"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_(
            "One per line, the English label then the Chinese after a bar: “Gold | 金卡”. "
            "A choice keeps its values while either label stays; one you remove is archived, "
            "not deleted."
        ),
    )

    class Meta:
        model = FieldDefinition
        fields = [name for name in SETTINGS if name != "default"]
        widgets = {
            "help_en": forms.TextInput(),
            "help_zh": forms.TextInput(),
        }
        help_texts = {
            "listed": _(
                "A column of the list; the customer list can be sorted by it when it holds "
                "text, numbers, amounts or dates (not when it is sensitive). Ordinary fields "
                "can always be filtered by."
            ),
        }

    # The services' order (what a field is, how it behaves on forms, how it is protected),
    # with the choices right after the type's own settings.
    field_order = [
        *SETTINGS[: SETTINGS.index("currency") + 1],
        "choices_text",
        *(
            "default_text" if name == "default" else name
            for name in SETTINGS[SETTINGS.index("required") :]
        ),
    ]

    def __init__(self, *args: Any, target: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Settings of some record kinds only: duplicates are looked for among customers, and
        # interactions have no list of their own (they are read in a customer's timeline).
        if target != FieldTarget.CUSTOMER:
            del self.fields["identifying"]
        if target == FieldTarget.INTERACTION:
            del self.fields["listed"]
        # Settings of some types only: the page shows them while the type is one of those
        # (static/js/crm.js, data-shown-for).
        type_id = self["type"].id_for_label
        for name, types in _TYPE_SETTINGS.items():
            self.fields[name].shown_for = f"{type_id}:{','.join(types)}"
        field = self.instance
        if field.pk:
            if field.default is not None:
                self.initial["default_text"] = _default_as_text(field)
            self.initial["choices_text"] = "\n".join(
                f"{choice.label_en} | {choice.label_zh}".rstrip(" |")
                for choice in field.choices.all()
                if not choice.archived
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("type") in CHOICE_TYPES and not self.choice_specs():
            self.add_error("choices_text", _("A choice field needs at least one choice."))
        return cleaned

    def choice_specs(self) -> list[ChoiceSpec]:
        """The lines as choices, each keeping the key of the existing choice one of its labels
        names."""
        existing = list(self.instance.choices.all()) if self.instance.pk else []
        specs = []
        for line in (self.cleaned_data.get("choices_text") or "").splitlines():
            label_en, _bar, label_zh = (part.strip() for part in line.partition("|"))
            if not label_en:
                continue
            match = next(
                (
                    choice
                    for choice in existing
                    if label_en.casefold() == choice.label_en.casefold()
                    or (label_zh and label_zh == choice.label_zh)
                ),
                None,
            )
            specs.append(ChoiceSpec(label_en, label_zh, key=match.key if match else ""))
        return specs

    def settings(self) -> dict[str, Any]:
        values = {
            name: self.cleaned_data[name] for name in self._meta.fields if name in self.fields
        }
        values["default"] = self.cleaned_data.get("default_text") or None
        return values


_TYPE_SETTINGS = {
    "decimals": [FieldType.NUMBER],
    "currency": [FieldType.MONEY],
    "choices_text": list(CHOICE_TYPES),
}


def _default_as_text(field: FieldDefinition) -> str:
    """The stored default as an administrator would type it: choices by their labels."""
    stored = field.default
    if field.type in CHOICE_TYPES:
        labels = choice_labels(field)
        keys = stored if isinstance(stored, list) else [stored]
        return ", ".join(labels.get(key, str(key)) for key in keys)
    if isinstance(stored, bool):
        return str(_("yes") if stored else _("no"))
    return str(stored)

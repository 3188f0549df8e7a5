"""Bootstrap 5's classes on the inputs of every form the pages draw, from one place:
FORM_RENDERER (crm/settings.py) names BootstrapFormRenderer, whose bound fields give each widget
the class Bootstrap styles it by, unless the form set a class of its own. Hidden inputs, and
radio buttons and checkbox lists (their templates lay out each option), get none."""

from __future__ import annotations

from typing import Any

from django import forms
from django.forms.boundfield import BoundField
from django.forms.renderers import DjangoTemplates


def bootstrap_class(widget: forms.Widget) -> str:
    """The Bootstrap class for `widget` ("" for none)."""
    if widget.is_hidden or isinstance(widget, forms.RadioSelect):  # checkbox lists included
        return ""
    if isinstance(widget, forms.MultiWidget):
        # Its attributes reach every part (a date range's two inputs): one class for all.
        classes = {bootstrap_class(part) for part in widget.widgets}
        return classes.pop() if len(classes) == 1 else ""
    if isinstance(widget, forms.CheckboxInput):
        return "form-check-input"
    if isinstance(widget, forms.Select):
        return "form-select"
    return "form-control"


class BootstrapBoundField(BoundField):
    def build_widget_attrs(self, attrs: dict[str, Any], widget: forms.Widget | None = None):
        widget = widget or self.field.widget
        css_class = bootstrap_class(widget)
        if css_class and "class" not in widget.attrs:
            # First among the added attributes, where the class always came.
            attrs = {"class": css_class, **attrs}
        return super().build_widget_attrs(attrs, widget)


# Widget templates this project draws its own way: Django's select, faster with the same
# markup; django-filter's ranges (two inputs), as one input group instead of two inputs
# stacked around a stray "-".
_OWN_TEMPLATES = {
    "django/forms/widgets/select.html": "kernel/widgets/select.html",
    "django_filters/widgets/multiwidget.html": "kernel/widgets/range.html",
}


class BootstrapFormRenderer(DjangoTemplates):
    bound_field_class = BootstrapBoundField

    def get_template(self, template_name: str):
        return super().get_template(_OWN_TEMPLATES.get(template_name, template_name))

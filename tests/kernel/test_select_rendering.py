"""The project's form renderer draws selects from its own template (kernel/forms_rendering.py):
the markup must be Django's own, byte for byte."""

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates

from kernel.forms_rendering import BootstrapFormRenderer


class _OptionWithData(forms.Select):
    def create_option(self, *args, **kwargs):
        option = super().create_option(*args, **kwargs)
        option["attrs"]["data-kind"] = "a & b"
        return option


class _OwnOptionTemplate(forms.Select):
    option_template_name = "django/forms/widgets/input_option.html"


GROUPED = [("", "—"), ("Cities", [("sh", "上海"), ("bj", "北京 <Beijing>")]), ("x", "X")]


@pytest.mark.parametrize(
    ("widget", "value"),
    [
        (forms.Select(choices=GROUPED, attrs={"class": "form-select", "required": True}), "bj"),
        (forms.SelectMultiple(choices=GROUPED), ["sh", "x"]),
        (forms.NullBooleanSelect(), None),
        (_OptionWithData(choices=[(1, "one"), (2, "two")]), 2),
        (_OwnOptionTemplate(choices=[(1, "one")]), 1),
    ],
)
def test_selects_are_drawn_as_django_draws_them(widget, value):
    ours = widget.render("field", value, renderer=BootstrapFormRenderer())
    djangos = widget.render("field", value, renderer=DjangoTemplates())
    assert ours == djangos
    assert "value=" in ours  # the options were drawn


def test_the_renderer_draws_selects_from_the_projects_template():
    template = BootstrapFormRenderer().get_template("django/forms/widgets/select.html")
    assert template.origin.name.endswith("kernel/templates/kernel/widgets/select.html")

from django import forms
from django.utils.translation import gettext_lazy as _

from kernel.free_text import validate_readable_text
from sales.models import PoolRules


class ReleaseForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=200, validators=[validate_readable_text], strip=True
    )


class PoolRulesForm(forms.ModelForm):
    class Meta:
        model = PoolRules
        fields = ["claim_quota", "release_days", "warning_days", "auto_release"]

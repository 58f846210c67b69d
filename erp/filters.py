"""Query-parameter filters every app's list endpoints share (django-filter)."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters


class StrictBooleanField(forms.Field):
    """true/false (or 1/0); anything else is a 400, not silently no filter."""

    def to_python(self, value):
        text = str(value).strip().lower() if value is not None else ""
        if not text:
            return None
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise ValidationError(_("Use true or false."), code="invalid")


class BooleanFilter(filters.BooleanFilter):
    field_class = StrictBooleanField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", forms.TextInput)
        super().__init__(*args, **kwargs)

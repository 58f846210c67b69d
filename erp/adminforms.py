"""The domain apps' admin building blocks. The admin's writes go through the
services, so it keeps the API's rules: a form asks the service first
(``refusal``: the call in a savepoint, rolled back at once) and shows what it
refuses as form errors; the save then calls the service for real and the admin
``adopt``s the row the service saved (ServiceForm, ServiceAdmin). What the
services record as facts is read-only (ReadOnlyAdmin, ReadOnlyInline)."""

from __future__ import annotations

import copy
from collections.abc import Callable

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.utils.text import capfirst

from erp.db import atomic
from erp.errors import DomainError


class _DryRunDoneError(Exception):
    """Ends a dry run: its savepoint rolls back."""


def refusal(
    app: str, call: Callable[[], object], error: type[DomainError] = DomainError
) -> DomainError | None:
    """What ``app``'s service says to ``call`` (an ``error``), keeping none of its effect."""
    try:
        with atomic(app):
            call()
            raise _DryRunDoneError
    except _DryRunDoneError:
        return None
    except error as refused:
        return refused


def adopt(instance, saved) -> None:
    """Make the admin's ``instance`` the row the service saved (the admin logs
    it and redirects to its id)."""
    for field in instance._meta.concrete_fields:
        setattr(instance, field.attname, getattr(saved, field.attname))
    instance._state.adding, instance._state.db = False, saved._state.db


class ServiceForm(forms.ModelForm):
    """A model form whose data the service judges: ``write()`` is the save.

    Subclasses set ``app``, ``error`` (the app's domain error base) and the
    ``create(**data)`` / ``update(instance, **changed)`` services."""

    app: str
    error: type[DomainError] = DomainError
    create: Callable
    update: Callable

    def write(self):
        if self.instance._state.adding:
            return self.create(**self.cleaned_data)
        return self.update(self.instance, **{name: self.cleaned_data[name] for name in self.changed_data})

    def clean(self):
        cleaned = super().clean()
        if not self.errors:  # fields the form refused are missing: the service would misjudge
            refused = refusal(self.app, self.write, self.error)
            if refused is not None:
                self._add_refusal(refused)
        return cleaned

    def _add_refusal(self, refused: DomainError) -> None:
        field_errors = getattr(refused, "errors", None) or []
        for error in field_errors:
            self.add_error(error.field if error.field in self.fields else None, error.message)
        if not field_errors:
            self.add_error(None, refused.message)


class ServiceAdmin(admin.ModelAdmin):
    """Saves through ``form.write()`` (a ServiceForm) and deletes through
    ``delete_service``; the confirmation page asks the service too."""

    app: str
    error: type[DomainError] = DomainError
    delete_service: Callable

    def save_model(self, request, obj, form, change):
        adopt(obj, form.write())

    def delete_model(self, request, obj):
        self.delete_service(obj)

    def delete_queryset(self, request, queryset):
        with atomic(self.app):  # all the selected rows or none
            for obj in queryset:
                self.delete_service(obj)

    def get_deleted_objects(self, objs, request):
        """What the service would refuse, not Django's collector's view."""
        objs = list(objs)
        refusals = [
            refusal(self.app, lambda obj=obj: self.delete_service(copy.copy(obj)), self.error) for obj in objs
        ]
        protected = [refused.message for refused in refusals if refused is not None]
        name = capfirst(self.opts.verbose_name)
        deleted = [f"{name}: {obj}" for obj in objs]
        return deleted, {self.opts.verbose_name_plural: len(objs)}, set(), protected

    # A rule the form could not see yet (a change a moment ago elsewhere) raises
    # at the real save, after the admin's transaction rolled back: say why
    # instead of answering 500.
    def changeform_view(self, request, *args, **kwargs):
        return self._or_message(super().changeform_view, request, *args, **kwargs)

    def delete_view(self, request, *args, **kwargs):
        return self._or_message(super().delete_view, request, *args, **kwargs)

    def changelist_view(self, request, *args, **kwargs):
        return self._or_message(super().changelist_view, request, *args, **kwargs)

    def _or_message(self, view, request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except self.error as refused:
            self.message_user(request, refused.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


class ReadOnlyAdmin(admin.ModelAdmin):
    """Facts the services record: looked at here, never edited."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True
    select_related: tuple[str, ...] = ()

    def get_queryset(self, request):
        return super().get_queryset(request).select_related(*self.select_related)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

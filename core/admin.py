"""The admins Ladder did not write (Celery beat's schedules, django-axes' login attempts, users, groups), under the staff rules."""

from axes import admin as axes_admin
from axes.models import AccessAttempt
from celery.schedules import ParseException
from celery.schedules import crontab as celery_crontab
from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _
from django_celery_beat import admin as beat_admin
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

from .admin_base import JSON_TOO_DEEP, StaffAdminMixin, StaffInlineMixin

# Django's and django-celery-beat's admins, held to the same rules as ours (StaffAdminMixin) and
# mended where a view-only user could act or a staff mistake gave a 500.


def _with_staff_rules(admin_class, **attrs):
    """`admin_class`, and its inlines, following StaffAdminMixin's rules."""
    inlines = [type(inline.__name__, (StaffInlineMixin, inline), {}) for inline in admin_class.inlines]
    return type(admin_class.__name__, (StaffAdminMixin, admin_class), {"inlines": inlines, **attrs})


class PeriodicTaskForm(beat_admin.PeriodicTaskForm):
    def _clean_json(self, field):
        try:
            return super()._clean_json(field)
        except RecursionError:
            raise forms.ValidationError(JSON_TOO_DEEP) from None


class PeriodicTaskAdmin(_with_staff_rules(beat_admin.PeriodicTaskAdmin)):
    """The nightly jobs' schedules. django-celery-beat's actions declare no permission, so a view-only
    user could run or switch off the nightly refresh: each needs the right to change schedules."""

    form = PeriodicTaskForm

    @admin.action(description=beat_admin.PeriodicTaskAdmin.enable_tasks.short_description, permissions=["change"])
    def enable_tasks(self, request, queryset):
        return super().enable_tasks(request, queryset)

    @admin.action(description=beat_admin.PeriodicTaskAdmin.disable_tasks.short_description, permissions=["change"])
    def disable_tasks(self, request, queryset):
        return super().disable_tasks(request, queryset)

    @admin.action(description=beat_admin.PeriodicTaskAdmin.toggle_tasks.short_description, permissions=["change"])
    def toggle_tasks(self, request, queryset):
        return super().toggle_tasks(request, queryset)

    @admin.action(description=beat_admin.PeriodicTaskAdmin.run_tasks.short_description, permissions=["change"])
    def run_tasks(self, request, queryset):
        return super().run_tasks(request, queryset)


class CrontabScheduleForm(forms.ModelForm):
    """Celery must be able to read the schedule: django-celery-beat's own checks let e.g. "-1"
    through, and the schedule's page and list then fail on it."""

    class Meta:
        model = CrontabSchedule
        fields = "__all__"

    def clean(self):
        cleaned = super().clean()
        fields = ("minute", "hour", "day_of_week", "day_of_month", "month_of_year")
        if not any(field in self.errors for field in fields):
            try:
                celery_crontab(**{field: cleaned.get(field) for field in fields})
            except (ParseException, ValueError) as exc:
                raise forms.ValidationError(str(exc)) from None
        return cleaned


class CrontabScheduleAdmin(_with_staff_rules(beat_admin.CrontabScheduleAdmin)):
    form = CrontabScheduleForm

    @admin.display(description=_("schedule in words"))
    def human_readable(self, obj):
        # A form sent back with its errors shows the schedule as typed, which Celery may not read.
        try:
            return obj.human_readable
        except (ParseException, ValueError):
            return "—"


class LoginAttemptAdmin(_with_staff_rules(axes_admin.AccessAttemptAdmin)):
    """Failed logins counted by django-axes; a row at the limit is a locked account. Staff unlock one
    here before its cool-off ends. Its form and query data are never shown (they may hold a password)."""

    list_display = ("username", "failures_since_start", "status", "attempt_time", "ip_address", "path_info")
    fieldsets = ((None, {"fields": ("username", "failures_since_start", "attempt_time", "path_info", "ip_address",
                                    "user_agent")}),)
    actions = ["unlock"]

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Unlock the selected logins"), permissions=["delete"])
    def unlock(self, request, queryset):
        # A login is locked while its failed attempts are counted, from any address: forgetting them unlocks it.
        usernames = sorted({attempt.username for attempt in queryset})
        AccessAttempt.objects.filter(username__in=usernames).delete()
        self.message_user(request, _("Unlocked: %(names)s.") % {"names": ", ".join(usernames)}, messages.SUCCESS)


admin.site.register(AccessAttempt, LoginAttemptAdmin)
admin.site.unregister(PeriodicTask)
admin.site.register(PeriodicTask, PeriodicTaskAdmin)
admin.site.unregister(CrontabSchedule)
admin.site.register(CrontabSchedule, CrontabScheduleAdmin)
# The rest need only the rules; their actions (Django's "delete selected") declare permissions.
for _model in (get_user_model(), Group, IntervalSchedule, SolarSchedule, ClockedSchedule):
    _admin_class = type(admin.site.get_model_admin(_model))
    admin.site.unregister(_model)
    admin.site.register(_model, _with_staff_rules(_admin_class))

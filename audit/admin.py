"""The audit log in the admin (staff read it; nobody adds, edits or deletes), and the base of admins that write to it."""

import json

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from core.admin_base import ReadOnlyAdmin, StaffAdmin

from .log import record, snapshot
from .models import AuditAction, AuditEntry


class AuditedAdmin(StaffAdmin):
    """An admin whose saves and deletes are written to the audit log in the admin's own transaction
    (Django runs each add, change and delete view in one): for models no service writes, such as
    programmes and the playbook. One entry per save, with the inlines' changes."""

    def save_model(self, request, obj, form, change):
        form.audit_before = snapshot(type(obj)._default_manager.get(pk=obj.pk)) if change else None
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        changes = self.construct_change_message(request, form, formsets, not change)
        record(actor=request.user, action=AuditAction.ADMIN_CHANGE if change else AuditAction.ADMIN_ADD,
                     obj=form.instance, before=getattr(form, "audit_before", None),
                     after={**snapshot(form.instance), "changes": changes})

    def delete_model(self, request, obj):
        record(actor=request.user, action=AuditAction.ADMIN_DELETE, obj=obj, before=snapshot(obj))
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():  # "delete selected" runs outside the views' transaction
            for obj in queryset:
                record(actor=request.user, action=AuditAction.ADMIN_DELETE, obj=obj, before=snapshot(obj))
            super().delete_queryset(request, queryset)


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "actor_name", "action", "object_type", "object_id", "object_repr", "reason")
    list_filter = ("action", "object_type", "created_at")
    search_fields = ("=object_id", "^object_repr", "=actor_name")
    date_hierarchy = "created_at"
    list_per_page = 100
    fields = ("created_at", "actor_name", "action", "object_type", "object_id", "object_repr", "reason",
              "before_json", "after_json")
    readonly_fields = fields

    @admin.display(description=_("before"))
    def before_json(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.before, ensure_ascii=False, indent=2, sort_keys=True))

    @admin.display(description=_("after"))
    def after_json(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.after, ensure_ascii=False, indent=2, sort_keys=True))

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("audit.view_auditentry")

    # ReadOnlyAdmin already answers False to add, change and delete for everyone, superusers included.


class AuditedPasswordUserAdmin(type(admin.site.get_model_admin(get_user_model()))):
    """The user admin, whose password sets (a new user's, or "change password") are audited in the same transaction."""

    def user_change_password(self, request, id, form_url=""):
        with transaction.atomic():
            response = super().user_change_password(request, id, form_url)
            # Success redirects to the user's page; a refused form re-renders (200) or comes back here.
            if request.method == "POST" and response.status_code == 302 and response.url != request.get_full_path():
                user = get_user_model().objects.get(pk=id)
                record(actor=request.user, action=AuditAction.PASSWORD_SET, obj=user,
                       after={"usable_password": user.has_usable_password()})
        return response

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            record(actor=request.user, action=AuditAction.PASSWORD_SET, obj=obj,
                   after={"usable_password": obj.has_usable_password()}, reason="new user")


admin.site.unregister(get_user_model())
admin.site.register(get_user_model(), AuditedPasswordUserAdmin)

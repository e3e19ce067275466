"""The audit log in the admin: staff read and filter it; nobody, not even a superuser, adds, edits or deletes."""

import json

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from tiers.admin_base import ReadOnlyAdmin

from .log import record
from .models import AuditAction, AuditEntry


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

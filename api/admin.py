"""Service tokens in the admin: made (the token shown once), read (last use, scopes) and revoked; never edited."""

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from core.admin_base import StaffAdmin

from .models import ApiToken, Scope
from .services import token_create, token_revoke

TOKEN_SHOWN_ONCE = _("Token {name}: {secret} — copy it now: it is shown only this once and cannot be read again.")


class ApiTokenForm(forms.ModelForm):
    scope_choice = forms.MultipleChoiceField(label=_("scopes"), choices=Scope.choices,
                                             widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = ApiToken
        fields = ("name",)


@admin.register(ApiToken)
class ApiTokenAdmin(StaffAdmin):
    form = ApiTokenForm
    list_display = ("name", "prefix", "scopes", "created_by", "created_at", "last_used_at", "revoked_at")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    search_fields = ("name", "=prefix")
    list_select_related = ("created_by",)
    readonly_fields = ("name", "prefix", "scopes", "created_by", "created_at", "last_used_at", "revoked_at",
                       "revoked_by")
    actions = ("revoke_tokens",)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else ()

    def get_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else ("name", "scope_choice")

    def has_change_permission(self, request, obj=None):
        # Nothing of a token is edited: the list's revoke action is its only change.
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False  # revoked, never deleted, so who held which token stays on record

    def save_model(self, request, obj, form, change):
        token, secret = token_create(name=form.cleaned_data["name"], scopes=form.cleaned_data["scope_choice"],
                                     by=request.user)
        obj.pk = token.pk
        self.message_user(request, TOKEN_SHOWN_ONCE.format(name=token.name, secret=secret), messages.WARNING)

    @admin.action(description=_("Revoke selected tokens"), permissions=["change"])
    def revoke_tokens(self, request, queryset):
        revoked = 0
        for token in queryset.filter(revoked_at__isnull=True):
            token_revoke(token=token, by=request.user)
            revoked += 1
        self.message_user(request, _("%(count)s tokens revoked; they are refused from now on.") % {"count": revoked},
                          messages.SUCCESS)

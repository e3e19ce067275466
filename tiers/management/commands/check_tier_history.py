"""`manage.py check_tier_history`: rebuild creators' tier history from the ledger and check the stored state against it."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from tiers.history_check import ledger_history, tier_history_check
from tiers.models import Influencer


class Command(BaseCommand):
    help = ("Rebuild each creator's tier history from the decision ledger and the state history, and report every "
            "creator whose stored tier, type or anti-flap dates disagree with it (after a restore, or to audit).")

    def add_arguments(self, parser):
        parser.add_argument("--creators", default="", help="comma-separated creator ids or platform ids; default all")
        parser.add_argument("--show", action="store_true", help="print the rebuilt ledger history of each creator named")

    def handle(self, *args, creators, show, **options):
        ids = None
        if creators:
            wanted = [c.strip() for c in creators.split(",") if c.strip()]
            found = dict(Influencer.objects.filter(platform_id__in=wanted).values_list("platform_id", "pk"))
            found |= {str(pk): pk for pk in Influencer.objects.filter(
                pk__in=[int(c) for c in wanted if c.isdigit()]).values_list("pk", flat=True)}
            if missing := [c for c in wanted if c not in found]:
                raise CommandError(_("No such creator: %(ids)s") % {"ids": ", ".join(missing)})
            ids = sorted(set(found.values()))
            if show:
                for pk, decisions in sorted(ledger_history(ids).items()):
                    for d in decisions:
                        self.stdout.write(f"#{pk}  decision #{d.id}: {d.tier_before or '—'} → {d.tier_after}, "
                                          f"{d.type_before or '—'} → {d.type_after or '—'}")
        checked, problems = tier_history_check(influencer_ids=ids)
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError(_("%(bad)s mismatches in the tier history of %(checked)s creators.")
                               % {"bad": len(problems), "checked": checked})
        self.stdout.write(_("ok: the stored tiers of %(checked)s creators match their ledger and state history.")
                          % {"checked": checked})

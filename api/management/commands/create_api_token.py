"""manage.py create_api_token NAME --scope read,write-metrics: make a service token and print it, once."""

from django.core.management.base import BaseCommand, CommandError

from api.models import Scope
from api.services import token_create
from core.validation import ServiceError


class Command(BaseCommand):
    help = "Create an API service token and print it (only its hash is stored: it cannot be shown again)."

    def add_arguments(self, parser):
        parser.add_argument("name", help="who or what uses the token, e.g. 'nightly metrics pipeline'")
        parser.add_argument("--scope", default=Scope.READ,
                            help=f"comma-separated scopes: {', '.join(Scope.values)} (default: read)")

    def handle(self, *args, name, scope, **options):
        try:
            token, secret = token_create(name=name, scopes=scope)
        except ServiceError as error:
            raise CommandError(str(error)) from None
        self.stderr.write(f"Token #{token.pk} {token.name!r}, scopes {token.scopes}. "
                          "Store it now; it is not shown again.")
        self.stdout.write(secret)

"""Create a workspace owner: the first account of a new installation, or another one later."""

import getpass

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email

from accounts.services import user_create, workspace_create
from switchboard.errors import DomainError


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True)
        parser.add_argument("--workspace", default="Default workspace", help="Name of the workspace to create.")
        parser.add_argument("--password", help="Prompted for when omitted (safer: not kept in shell history).")

    def handle(self, *args, email: str, workspace: str, password: str | None, **options):
        try:
            validate_email(email)
        except ValidationError as exc:
            raise CommandError(f"{email!r} is not a valid email address.") from exc
        if not password:
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                raise CommandError("The passwords do not match.")
        if len(password) < 8:
            raise CommandError("Use a password of at least 8 characters.")
        try:
            owner = user_create(email=email, password=password, is_staff=True)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        ws = workspace_create(name=workspace, owner=owner)
        self.stdout.write(self.style.SUCCESS(f"Created {owner.email}, owner of '{ws.name}'. Sign in at /login/."))

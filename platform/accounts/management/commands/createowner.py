"""Create a workspace owner: the first account of a new installation, or a workspace of its own for
someone else. To add a person to an existing workspace, invite them from its Members page, or join
them here with --join WORKSPACE_ID (and --role)."""

import getpass

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email

from accounts.models import Role, User, Workspace
from accounts.services import membership_add, user_create, workspace_create
from switchboard.errors import DomainError

FIRST_WORKSPACE = "Default workspace"


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True)
        target = parser.add_mutually_exclusive_group()
        target.add_argument(
            "--workspace",
            help=f"Create a new workspace with this name, owned by this person (the first one is '{FIRST_WORKSPACE}').",
        )
        target.add_argument("--join", metavar="WORKSPACE_ID", help="Add this person to an existing workspace instead.")
        parser.add_argument(
            "--role", choices=Role.values, default=Role.OWNER, help="Their role in the workspace they --join."
        )
        parser.add_argument("--password", help="Prompted for when omitted (safer: not kept in shell history).")

    def handle(self, *args, email: str, workspace: str | None, join: str | None, role: str, password, **options):
        email = email.strip().lower()
        try:
            validate_email(email)
        except ValidationError as exc:
            raise CommandError(f"{email!r} is not a valid email address.") from exc
        if role != Role.OWNER and not join:
            raise CommandError("--role applies to --join only: a new workspace's creator is its owner.")
        target = self._workspace_to_join(join) if join else None
        if target is None and workspace is None and Workspace.objects.exists():
            raise CommandError(
                "Workspaces already exist. To add this person to one, invite them from its Members page or use "
                "--join WORKSPACE_ID --role ROLE; to give them a separate workspace, name it with --workspace NAME."
                f"\nWorkspaces: {self._workspace_list()}"
            )
        user = User.objects.filter(email=email).first()
        if user is None:
            user = self._create_user(email, password)
        elif password:
            raise CommandError(f"{email} already has an account; its password is left unchanged. Leave --password out.")
        try:
            if target is not None:
                membership_add(workspace=target, user=user, role=role)
                self.stdout.write(self.style.SUCCESS(f"{user.email} is now {role} of '{target.name}'."))
                return
            ws = workspace_create(name=workspace or FIRST_WORKSPACE, owner=user)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            self.style.SUCCESS(f"Created {ws.name!r} ({ws.pk}), owned by {user.email}. Sign in at /login/.")
        )

    def _workspace_to_join(self, workspace_id: str) -> Workspace:
        target = Workspace.objects.filter(pk=workspace_id).first()
        if target is None:
            raise CommandError(f"No workspace {workspace_id!r}. Workspaces: {self._workspace_list()}")
        return target

    def _workspace_list(self) -> str:
        return ", ".join(f"{ws.pk} ({ws.name})" for ws in Workspace.objects.order_by("created_at")[:20]) or "none"

    def _create_user(self, email: str, password: str | None) -> User:
        if not password:
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                raise CommandError("The passwords do not match.")
        if len(password) < 8:
            raise CommandError("Use a password of at least 8 characters.")
        try:
            return user_create(email=email, password=password, is_staff=True)
        except DomainError as exc:
            raise CommandError(exc.message) from exc

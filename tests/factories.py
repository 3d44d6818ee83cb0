"""factory_boy factories for the models the tests build on."""

from __future__ import annotations

import factory

from accounts.models import Membership, Role, User, Workspace


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    password = factory.django.Password("correct horse battery staple")


class WorkspaceFactory(factory.django.DjangoModelFactory):
    """A workspace with one owner."""

    class Meta:
        model = Workspace
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Workspace {n}")

    @factory.post_generation
    def owner(workspace, create, extracted, **kwargs):
        if create:
            Membership.objects.create(workspace=workspace, user=extracted or UserFactory(), role=Role.OWNER)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    workspace = factory.SubFactory(WorkspaceFactory)
    role = Role.EDITOR


# A one-operation OpenAPI spec, for tests that need an action to exist.
SHOP_SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "Shop", "version": "1"},
    "servers": [{"url": "https://shop.example.com"}],
    "paths": {"/orders": {"post": {"operationId": "createOrder", "responses": {"201": {"description": "made"}}}}},
}


def handbook_and_shop(workspace):
    """A knowledge base with one indexed document and an action imported from SHOP_SPEC, as a
    workspace in use has them: (base, document, action)."""
    import json

    from django.core.files.uploadedfile import SimpleUploadedFile

    from actions.importing import SpecSource, action_import
    from actions.models import SourceKind
    from knowledge import ingestion
    from knowledge import services as knowledge_services

    base = knowledge_services.knowledge_base_create(workspace=workspace, name="Handbook")
    document, _ = knowledge_services.document_create_from_upload(
        knowledge_base=base, file=SimpleUploadedFile("refunds.txt", b"Refunds take five working days.")
    )
    status = ingestion.document_ingest(document_id=document.pk)
    if status != "ready":
        # In a transactional test the upload's task is sent at once, and an ingest worker that an
        # earlier test started may take the run over (the later start wins): it finishes the document.
        from tests.knowledge.conftest import wait_for_document

        status = wait_for_document(document.pk).status
    assert status == "ready"
    action = action_import(workspace=workspace, source=SpecSource(kind=SourceKind.TEXT, text=json.dumps(SHOP_SPEC)))
    return base, document, action.action


def console_in_use(workspace, *, chat_model, bot, invitee: str = "p@example.com") -> dict[str, str]:
    """A workspace as a team has it after a while (a knowledge base with a document, an action, a
    pending invitation, an allowlist entry): the ids the console's pages take, by name."""
    from accounts.services import invitation_create
    from network.services import allowlist_entry_create

    base, document, action = handbook_and_shop(workspace)
    invitation_create(workspace=workspace, email=invitee, role="viewer", inviter_role="owner")
    allowlist_entry_create(workspace=workspace, value="10.0.0.0/8")
    return {
        "base": base.pk,
        "document": document.pk,
        "action": action.pk,
        "operation": action.operations.get().pk,
        "provider": chat_model.provider_id,
        "bot": bot.pk,
    }

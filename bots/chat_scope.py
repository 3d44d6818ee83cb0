"""What a chat-scope API key may do inside the chat routes it reaches: talk to published bots only.

The permission class (accounts.permissions) lets a chat-scope key into the chat views; these
checks run in them once the body is parsed, before a turn is accepted, so a refusal writes nothing.
"""

from __future__ import annotations

from accounts.permissions import is_chat_scope, refuse_for_chat_scope
from bots.models import Conversation


def require_published_for_chat_scope(request, *, workspace, draft: bool, conversation_id: str | None) -> None:
    """A chat-scope key may not talk to the draft, neither directly (`"version": "draft"`) nor by
    continuing a conversation that is held on the draft (a preview, or one a full key started)."""
    if not is_chat_scope(request):
        return
    if draft:
        refuse_for_chat_scope(request, 'Chatting with the draft ("version": "draft")', param="version")
    if (
        isinstance(conversation_id, str)
        and conversation_id
        and Conversation.objects.for_workspace(workspace)
        .filter(pk=conversation_id, version_number__isnull=True)
        .exists()
    ):
        refuse_for_chat_scope(
            request, f"Continuing conversation {conversation_id!r}, which talks to the draft,", param="conversation_id"
        )

"""The request body of `POST /v1/chat/completions`, as the OpenAPI schema documents it.

The view reads the body itself, the lenient way OpenAI's SDKs expect (fields it does not use, such
as sampling parameters, are ignored rather than refused); this describes the fields it does use.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

_CONTENT_SCHEMA = {
    "oneOf": [
        {"type": "string"},
        {
            "type": "array",
            "description": "Content parts; the text parts are used.",
            "items": {
                "type": "object",
                "required": ["type"],
                "properties": {"type": {"type": "string", "example": "text"}, "text": {"type": "string"}},
            },
        },
    ],
}


@extend_schema_field(_CONTENT_SCHEMA)
class _ContentField(serializers.JSONField):
    pass


@extend_schema_serializer(component_name="ChatCompletionMessage")
class ChatCompletionMessageSerializer(serializers.Serializer):
    role = serializers.ChoiceField(
        choices=["user", "assistant", "system", "developer", "tool"],
        help_text=(
            "The last message must be the user's. Earlier user/assistant messages are the history; system, "
            "developer and tool messages are ignored (the bot's own configuration governs)."
        ),
    )
    content = _ContentField()


@extend_schema_serializer(component_name="ChatCompletionStreamOptions")
class ChatCompletionStreamOptionsSerializer(serializers.Serializer):
    include_usage = serializers.BooleanField(
        required=False, default=False, help_text="Send a last chunk with the token usage."
    )


@extend_schema_serializer(component_name="ChatCompletionRequest")
class ChatCompletionRequestSerializer(serializers.Serializer):
    model = serializers.CharField(help_text="A published bot's slug (GET /v1/models lists them).")
    messages = ChatCompletionMessageSerializer(many=True, allow_empty=False)
    stream = serializers.BooleanField(
        required=False, default=False, help_text="true: Server-Sent Events in OpenAI's chunk format."
    )
    stream_options = ChatCompletionStreamOptionsSerializer(required=False)
    user = serializers.CharField(required=False, max_length=255, help_text="Your identifier for the end user.")
    inputs = serializers.DictField(required=False, help_text="Values for the bot's variables (SDK: extra_body).")
    conversation_id = serializers.CharField(
        required=False, help_text=("Continue a stored conversation instead of sending the history (SDK: extra_body).")
    )

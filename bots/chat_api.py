"""REST API: chat turns, their event streams, stop, confirmations, feedback; conversation history."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.tenancy import WorkspaceScopedMixin
from bots import budgets, events, sse
from bots.chat_scope import require_published_for_chat_scope
from bots.filters import ConversationFilter
from bots.models import Channel, Conversation, Message, ToolCall
from bots.selectors import chat_bot
from bots.services import conversation_delete
from bots.turns import tool_call_decide, turn_accept, turn_feedback, turn_stop
from switchboard.api.deferred import DeferredResponse, json_response
from switchboard.api.errors import ApiError
from switchboard.api.filters import FilterBackend


class ToolCallSerializer(serializers.ModelSerializer):
    tool_call_id = serializers.CharField(source="call_id")

    class Meta:
        model = ToolCall
        fields = [
            "tool_call_id",
            "name",
            "arguments",
            "consequential",
            "state",
            "result",
            "error",
            "duration_ms",
            "step",
        ]


class MessageSerializer(serializers.ModelSerializer):
    usage = serializers.SerializerMethodField()
    latency = serializers.SerializerMethodField()
    tool_calls = ToolCallSerializer(many=True, read_only=True)
    cost = serializers.DecimalField(max_digits=14, decimal_places=8, coerce_to_string=True)

    class Meta:
        model = Message
        fields = [
            "id",
            "conversation_id",
            "role",
            "content",
            "state",
            "error",
            "reply_to_id",
            "model",
            "usage",
            "cost",
            "latency",
            "citations",
            "trace",
            "tool_calls",
            "rating",
            "feedback",
            "created_at",
            "finished_at",
        ]

    def get_usage(self, message: Message) -> dict:
        return events.usage_of(message)

    def get_latency(self, message: Message) -> dict:
        return events.latency_of(message)


class ConversationSerializer(serializers.ModelSerializer):
    bot_id = serializers.CharField()
    user = serializers.CharField(source="end_user")
    user_verified = serializers.BooleanField(
        source="end_user_verified", read_only=True, help_text="A widget visitor the host site vouched for (HMAC)."
    )
    user_name = serializers.CharField(source="end_user_name", read_only=True)

    class Meta:
        model = Conversation
        fields = [
            "id",
            "bot_id",
            "user",
            "user_verified",
            "user_name",
            "channel",
            "inputs",
            "version_number",
            "title",
            "created_at",
            "updated_at",
        ]


class ChatInputSerializer(serializers.Serializer):
    message = serializers.CharField(trim_whitespace=False, allow_blank=True)
    inputs = serializers.DictField(required=False, default=dict, help_text="Values for the bot's variables.")
    conversation_id = serializers.CharField(required=False, allow_null=True, default=None)
    user = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=255,
        default="",
        help_text="Your identifier for the end user; conversations can be listed by it.",
    )
    stream = serializers.BooleanField(default=False, help_text="true: Server-Sent Events; false: the final message.")
    version = serializers.ChoiceField(choices=["published", "draft"], default="published")


class BotChatApi(WorkspaceScopedMixin, APIView):
    """Send a message to a bot.

    With `stream: true` the response is an SSE stream of the turn's events (`message.start`,
    `retrieval`, `tool.call`, `tool.confirmation_required`, `tool.result`, `delta`,
    `message.reset`, `error`, `message.end`); `X-Message-Id` and `X-Conversation-Id` headers carry
    the ids so a dropped client can resume with GET /api/v1/messages/{id}/events. With
    `stream: false` it waits and returns the finished assistant message.
    """

    renderer_classes = [JSONRenderer, sse.EventStreamRenderer]
    chat_scope_allowed = True  # chat-scope keys: published versions only (require_published_for_chat_scope)

    @extend_schema(
        request=ChatInputSerializer,
        responses={
            200: OpenApiResponse(
                MessageSerializer,
                description="The finished message (stream=false), or an text/event-stream (stream=true).",
            )
        },
    )
    def post(self, request, pk: str):
        bot = chat_bot(workspace_id=self.workspace.pk, bot_id=pk)
        if bot is None:
            raise Http404
        data = ChatInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        params = data.validated_data
        require_published_for_chat_scope(
            request,
            workspace=self.workspace,
            draft=params["version"] == "draft",
            conversation_id=params["conversation_id"],
        )
        end_user = params["user"] or (f"user:{request.user.pk}" if getattr(request.user, "pk", None) else "api")
        # A signed-in person talking to the draft is the admin UI's preview.
        from accounts.authentication import ApiKeyPrincipal

        api_key = request.user.api_key if isinstance(request.user, ApiKeyPrincipal) else None
        preview = params["version"] == "draft" and api_key is None
        accepted = turn_accept(
            workspace=self.workspace,
            bot=bot,
            text=params["message"],
            inputs=params["inputs"],
            conversation_id=params["conversation_id"],
            end_user=end_user,
            channel=Channel.PREVIEW if preview else Channel.API,
            use_draft=params["version"] == "draft",
            api_key_id=api_key.pk if api_key is not None else None,
        )
        assistant = accepted.assistant_message
        warnings = budgets.warning_headers(accepted.budget_warnings)
        if params["stream"]:
            return sse.sse_response(
                sse.relay(assistant.pk),
                headers={"X-Message-Id": assistant.pk, "X-Conversation-Id": accepted.conversation.pk, **warnings},
            )
        response = DeferredResponse(lambda: _blocking_answer(assistant.pk))
        for name, value in warnings.items():
            response[name] = value
        return response


async def _blocking_answer(message_id: str):
    """The finished message (or the one waiting for a confirmation), awaited off-thread."""
    await sse.await_turn_or_raise(message_id)
    return json_response(await sync_to_async(_message_data)(message_id))


def _message_data(message_id: str) -> dict:
    return MessageSerializer(Message.objects.prefetch_related("tool_calls").get(pk=message_id)).data


class _MessageMixin(WorkspaceScopedMixin):
    chat_scope_allowed = True  # following, stopping, confirming and rating a turn is part of chatting

    def get_message(self, message_id: str) -> Message:
        return generics.get_object_or_404(Message.objects.filter(workspace=self.workspace), pk=message_id)


class MessageDetailApi(_MessageMixin, APIView):
    @extend_schema(responses=MessageSerializer)
    def get(self, request, pk: str):
        return Response(MessageSerializer(self.get_message(pk)).data)


class MessageEventsApi(_MessageMixin, APIView):
    """The turn's events as SSE from the start, or after `Last-Event-ID` (header or query)."""

    renderer_classes = [JSONRenderer, sse.EventStreamRenderer]  # errors are JSON

    @extend_schema(
        parameters=[OpenApiParameter("Last-Event-ID", str, OpenApiParameter.HEADER, required=False)],
        responses={(200, "text/event-stream"): OpenApiResponse(description="Server-Sent Events")},
    )
    def get(self, request, pk: str):
        message = self.get_message(pk)
        after = sse.resume_point(request)
        if sse.stream_expired(message):
            return sse.sse_response(sse.single_frame(events.stored_end_frame(message)))
        return sse.sse_response(sse.relay(message.pk, after=after))


class MessageStopApi(_MessageMixin, APIView):
    """Cancel a running turn; the text produced so far is kept and marked cancelled."""

    @extend_schema(request=None, responses=MessageSerializer)
    def post(self, request, pk: str):
        return Response(MessageSerializer(turn_stop(message=self.get_message(pk))).data)


class ConfirmationInputSerializer(serializers.Serializer):
    tool_call_id = serializers.CharField()
    approve = serializers.BooleanField()


class MessageConfirmationApi(_MessageMixin, APIView):
    """Approve or deny a consequential tool call the turn is waiting on."""

    @extend_schema(request=ConfirmationInputSerializer, responses=ToolCallSerializer)
    def post(self, request, pk: str):
        message = self.get_message(pk)
        data = ConfirmationInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tool_call = ToolCall.objects.filter(message=message, call_id=data.validated_data["tool_call_id"]).first()
        if tool_call is None:
            raise ApiError(
                f"Message {message.pk} has no tool call {data.validated_data['tool_call_id']!r}.",
                code="tool_call_not_found",
                status_code=404,
                param="tool_call_id",
            )
        decided = tool_call_decide(tool_call=tool_call, approve=data.validated_data["approve"])
        return Response(ToolCallSerializer(decided).data)


class FeedbackInputSerializer(serializers.Serializer):
    rating = serializers.ChoiceField(choices=[1, -1], allow_null=True)
    comment = serializers.CharField(required=False, allow_blank=True, max_length=4000, default="")


class MessageFeedbackApi(_MessageMixin, APIView):
    @extend_schema(request=FeedbackInputSerializer, responses=MessageSerializer)
    def post(self, request, pk: str):
        data = FeedbackInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        message = turn_feedback(
            message=self.get_message(pk), rating=data.validated_data["rating"], comment=data.validated_data["comment"]
        )
        return Response(MessageSerializer(message).data)


class ConversationListApi(WorkspaceScopedMixin, generics.ListAPIView):
    """Conversations, newest first; filter with ?bot=, ?user=, ?created_after=, ?created_before=."""

    queryset = Conversation.objects.all()
    serializer_class = ConversationSerializer
    filter_backends = [FilterBackend]
    filterset_class = ConversationFilter


class ConversationDetailApi(WorkspaceScopedMixin, generics.RetrieveDestroyAPIView):
    queryset = Conversation.objects.all()
    serializer_class = ConversationSerializer

    def perform_destroy(self, instance: Conversation) -> None:
        conversation_delete(conversation=instance)


class ConversationMessagesApi(WorkspaceScopedMixin, generics.ListAPIView):
    """A conversation's messages, oldest first, with traces."""

    serializer_class = MessageSerializer

    def get_queryset(self) -> QuerySet[Message]:
        conversation = generics.get_object_or_404(
            Conversation.objects.filter(workspace=self.workspace), pk=self.kwargs["pk"]
        )
        return conversation.messages.prefetch_related("tool_calls")

    @property
    def paginator(self):
        paginator = super().paginator
        if paginator is not None:
            paginator.ordering = "created_at"
        return paginator

"""The visitor's API (/widget/v1/…): what the widget frame and the share page call.

No workspace API key and no cookie: a request carries a visitor session token (see access), and
every request checks again that the bot serves visitors and that the page is still allowed
(services.session_widget). A visitor reaches only the conversations its session started; any
other id is a 404. Event payloads are trimmed to what the chat window shows (trim_event).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from bots import events, sse
from bots.models import BotWidget, Message, ToolCall
from bots.turns import tool_call_decide, turn_feedback, turn_stop
from bots.widget import limits, origins
from bots.widget.access import Session, session_read
from bots.widget.selectors import visitor_conversation, visitor_conversations, visitor_message
from bots.widget.services import session_start, session_widget, visitor_turn
from switchboard.errors import NotFound

_GENERIC_FAILURE = "The assistant could not answer this time. Try again in a moment."


def own_origin(request) -> str:
    return origins.normalise(f"{request.scheme}://{request.get_host()}")


def request_origin(request) -> str | None:
    return origins.parse_header(request.headers.get("Origin"))


def trim_citation(citation: dict[str, Any], n: int) -> dict[str, Any]:
    return {
        "n": n,
        "document_name": citation.get("document_name") or "",
        "page": citation.get("page"),
        "snippet": citation.get("snippet") or "",
    }


def trim_citations(citations: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return [trim_citation(citation, index + 1) for index, citation in enumerate(citations or [])]


def _visitor_error(error: dict[str, Any] | None) -> dict[str, str] | None:
    # Provider and tool failures can name hosts, keys' hints or internal paths: a visitor sees the
    # code (the widget words it) and a general sentence; the conversation log keeps the detail.
    if not error:
        return None
    return {"code": str(error.get("code") or "failed"), "message": _GENERIC_FAILURE}


def trim_event(message_id: str, event: str, data: dict[str, Any]) -> dict[str, Any] | None:
    """The visitor's view of one stored event, or None for events the window does not show."""
    if event == "message.start":
        return {"conversation_id": data.get("conversation_id"), "user_message_id": data.get("user_message_id")}
    if event == "retrieval":
        return {"citations": trim_citations(data.get("citations"))}
    if event == "tool.call":
        keys = ("tool_call_id", "name", "arguments", "consequential")
        return {key: data.get(key) for key in keys}
    if event == "tool.confirmation_required":
        return {
            "tool_call_id": data.get("tool_call_id"),
            "name": data.get("name"),
            "arguments": data.get("arguments"),
            "confirm_url": f"/widget/v1/messages/{message_id}/confirmations",
        }
    if event == "tool.result":
        return {key: data.get(key) for key in ("tool_call_id", "name", "ok")} | {"error": None}
    if event in ("delta", "message.reset", "stream.error"):
        return data
    if event == "error":
        return _visitor_error(data)
    if event == "message.end":
        return {
            "state": data.get("state"),
            "content": data.get("content", ""),
            "conversation_id": data.get("conversation_id"),
            "citations": trim_citations(data.get("citations")),
            "error": _visitor_error(data.get("error")),
        }
    return None


def _visitor_frames(message_id: str) -> sse.Transform:
    """The SSE frames of one stored event as a visitor sees it (none for events it does not show)."""

    def transform(entry_id: str, event: str, data: dict[str, Any]) -> list[bytes]:
        trimmed = trim_event(message_id, event, data)
        return [] if trimmed is None else [events.sse_frame(entry_id, event, {"message_id": message_id, **trimmed})]

    return transform


def _relay(message_id: str, after: str = "0-0"):
    return sse.relay(message_id, after=after, transform=_visitor_frames(message_id))


class WidgetMessageSerializer(serializers.ModelSerializer):
    role = serializers.CharField(help_text="user or assistant")
    state = serializers.CharField(help_text="queued, running, awaiting_confirmation, completed, failed or cancelled")
    citations = serializers.SerializerMethodField()
    tool_calls = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()

    class Meta:
        model = Message
        fields = [
            "id",
            "role",
            "content",
            "state",
            "error",
            "citations",
            "tool_calls",
            "rating",
            "feedback",
            "created_at",
        ]

    def get_citations(self, message: Message) -> list[dict[str, Any]]:
        return trim_citations(message.citations)

    def get_error(self, message: Message) -> dict[str, str] | None:
        return _visitor_error(message.error)

    def get_tool_calls(self, message: Message) -> list[dict[str, Any]]:
        return [
            {"tool_call_id": call.call_id, "name": call.name, "arguments": call.arguments, "state": call.state}
            for call in message.tool_calls.all()
        ]


class VisitorView(APIView):
    """Base of the session-authenticated routes: `self.session` and `self.widget` are checked."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    renderer_classes = [JSONRenderer]
    session: Session
    widget: BotWidget

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.session = session_read(request.headers.get("Authorization"))
        self.widget = session_widget(self.session, origin=request_origin(request), own_origin=own_origin(request))

    def message(self, message_id: str) -> Message:
        return visitor_message(widget=self.widget, session=self.session, message_id=message_id)


class SessionInputSerializer(serializers.Serializer):
    ticket = serializers.CharField(max_length=4000)
    visitor = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=500, default=None)
    user_id = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")
    user_hash = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")
    name = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class SessionOutputSerializer(serializers.Serializer):
    token = serializers.CharField()
    expires_in = serializers.IntegerField()
    visitor = serializers.CharField()
    user = serializers.DictField()


class SessionStartApi(APIView):
    """Start a visitor session for the chat frame holding `ticket` (no API key: visitors call this).

    Send `visitor` from the last answer to keep the visitor's conversations. To chat as the host
    site's signed-in user, send `user_id` and `user_hash` = HMAC-SHA256(identity secret, user_id)
    in hex, computed on the host site's server.
    """

    authentication_classes: list = []
    permission_classes = [AllowAny]
    renderer_classes = [JSONRenderer]

    @extend_schema(request=SessionInputSerializer, responses={201: SessionOutputSerializer})
    def post(self, request):
        data = SessionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        params = data.validated_data
        started = session_start(
            ticket=params["ticket"],
            visitor=params["visitor"],
            user_id=params["user_id"].strip() or None,
            user_hash=params["user_hash"],
            name=params["name"],
            origin=request_origin(request),
            own_origin=own_origin(request),
            ip=limits.client_ip(request),
        )
        session = started.session
        body = {
            "token": started.token,
            "expires_in": settings.WIDGET_SESSION_SECONDS,
            "visitor": started.visitor,
            "user": {"id": session.user_id, "name": session.user_name, "verified": session.verified},
        }
        return Response(body, status=status.HTTP_201_CREATED)


class VisitorConversationSerializer(serializers.Serializer):
    id = serializers.CharField()
    title = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class VisitorConversationsApi(VisitorView):
    """The visitor's conversations with this bot, newest first."""

    @extend_schema(
        responses=inline_serializer("VisitorConversationList", {"data": VisitorConversationSerializer(many=True)})
    )
    def get(self, request):
        rows = visitor_conversations(widget=self.widget, session=self.session)
        return Response(
            {
                "data": [
                    {"id": c.pk, "title": c.title, "created_at": c.created_at, "updated_at": c.updated_at} for c in rows
                ]
            }
        )


class VisitorConversationMessagesApi(VisitorView):
    """One of the visitor's conversations, oldest message first (its latest messages when long)."""

    @extend_schema(responses=inline_serializer("VisitorMessageList", {"data": WidgetMessageSerializer(many=True)}))
    def get(self, request, pk: str):
        conversation = visitor_conversation(widget=self.widget, session=self.session, conversation_id=pk)
        latest = list(
            conversation.messages.order_by("-created_at").prefetch_related("tool_calls")[
                : settings.WIDGET_HISTORY_LIMIT
            ]
        )
        latest.reverse()
        return Response({"data": WidgetMessageSerializer(latest, many=True).data})


class VisitorChatInputSerializer(serializers.Serializer):
    message = serializers.CharField(trim_whitespace=False, allow_blank=True)
    conversation_id = serializers.CharField(required=False, allow_null=True, allow_blank=True, default=None)
    inputs = serializers.DictField(required=False, default=dict)


class VisitorChatApi(VisitorView):
    """Send the visitor's message; the answer streams back as Server-Sent Events."""

    renderer_classes = [JSONRenderer, sse.EventStreamRenderer]

    @extend_schema(
        request=VisitorChatInputSerializer,
        responses={(200, "text/event-stream"): OpenApiResponse(description="Server-Sent Events")},
    )
    def post(self, request):
        data = VisitorChatInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        params = data.validated_data
        accepted = visitor_turn(
            widget=self.widget,
            session=self.session,
            text=params["message"],
            conversation_id=params["conversation_id"],
            inputs=params["inputs"],
            ip=limits.client_ip(request),
        )
        message_id = accepted.assistant_message.pk
        return sse.sse_response(
            _relay(message_id),
            headers={"X-Message-Id": message_id, "X-Conversation-Id": accepted.conversation.pk},
        )


class VisitorEventsApi(VisitorView):
    """Follow a turn again after a dropped connection, after `Last-Event-ID`."""

    renderer_classes = [JSONRenderer, sse.EventStreamRenderer]

    @extend_schema(
        parameters=[OpenApiParameter("Last-Event-ID", str, OpenApiParameter.HEADER, required=False)],
        responses={(200, "text/event-stream"): OpenApiResponse(description="Server-Sent Events")},
    )
    def get(self, request, pk: str):
        message = self.message(pk)
        after = sse.resume_point(request)
        if sse.stream_expired(message):
            (frame,) = _visitor_frames(message.pk)("0-1", "message.end", events.MessageEnd.of(message).data())
            return sse.sse_response(sse.single_frame(frame))
        return sse.sse_response(_relay(message.pk, after=after))


class VisitorStopApi(VisitorView):
    @extend_schema(request=None, responses=WidgetMessageSerializer)
    def post(self, request, pk: str):
        return Response(WidgetMessageSerializer(turn_stop(message=self.message(pk))).data)


class VisitorConfirmationInputSerializer(serializers.Serializer):
    tool_call_id = serializers.CharField(max_length=100)
    approve = serializers.BooleanField()


class VisitorConfirmationApi(VisitorView):
    """Approve or deny an action the answer is waiting on."""

    @extend_schema(
        request=VisitorConfirmationInputSerializer,
        responses=inline_serializer(
            "VisitorConfirmation",
            {
                "tool_call_id": serializers.CharField(),
                "name": serializers.CharField(),
                "state": serializers.CharField(),
            },
        ),
    )
    def post(self, request, pk: str):
        data = VisitorConfirmationInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        message = self.message(pk)
        tool_call = ToolCall.objects.filter(message=message, call_id=data.validated_data["tool_call_id"]).first()
        if tool_call is None:
            raise NotFound(
                "This answer is not waiting on that action.", code="tool_call_not_found", param="tool_call_id"
            )
        decided = tool_call_decide(tool_call=tool_call, approve=data.validated_data["approve"])
        return Response({"tool_call_id": decided.call_id, "name": decided.name, "state": decided.state})


class VisitorFeedbackInputSerializer(serializers.Serializer):
    rating = serializers.ChoiceField(choices=[1, -1], allow_null=True)
    comment = serializers.CharField(required=False, allow_blank=True, max_length=4000, default="")


class VisitorFeedbackApi(VisitorView):
    @extend_schema(request=VisitorFeedbackInputSerializer, responses=WidgetMessageSerializer)
    def post(self, request, pk: str):
        data = VisitorFeedbackInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        message = turn_feedback(
            message=self.message(pk), rating=data.validated_data["rating"], comment=data.validated_data["comment"]
        )
        return Response(WidgetMessageSerializer(message).data)


class VisitorCitationApi(VisitorView):
    """The whole passage behind an answer's source number `n` (1-based)."""

    @extend_schema(
        responses=inline_serializer(
            "VisitorCitation",
            {
                "n": serializers.IntegerField(),
                "document_name": serializers.CharField(),
                "page": serializers.IntegerField(allow_null=True),
                "text": serializers.CharField(),
            },
        )
    )
    def get(self, request, pk: str, n: int):
        message = self.message(pk)
        context = message.context or []
        citations = message.citations or []
        if not 1 <= n <= min(len(context), len(citations)):
            raise NotFound(f"This answer has no source {n}.", code="citation_not_found")
        passage = context[n - 1]
        return Response(
            {
                "n": n,
                "document_name": citations[n - 1].get("document_name") or passage.get("label") or "",
                "page": passage.get("page"),
                "text": passage.get("text") or "",
            }
        )

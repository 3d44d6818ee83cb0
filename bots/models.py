"""Bots (a draft config plus published versions), conversations, messages and tool calls."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import WorkspaceScopedModel
from switchboard.ids import PrefixedId, id_field
from switchboard.vault import EncryptedTextField


class Bot(WorkspaceScopedModel):
    id = id_field("bot")
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=64, help_text="Used as `model` on the OpenAI-compatible API.")
    description = models.TextField(blank=True)
    avatar = models.CharField(max_length=500, blank=True, help_text="An emoji or an image URL.")
    config = models.JSONField(default=dict, help_text="The draft configuration (see bots.config).")
    published_version = models.ForeignKey(
        "BotVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["workspace", "slug"], name="bot_slug_unique")]

    def __str__(self) -> str:
        return self.name


class BotVersion(models.Model):
    """An immutable snapshot of a bot's configuration, made by publishing."""

    id = id_field("bv")
    bot = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    config = models.JSONField()
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-number"]
        constraints = [models.UniqueConstraint(fields=["bot", "number"], name="bot_version_number_unique")]

    def __str__(self) -> str:
        return f"{self.bot_id} v{self.number}"


class Channel(models.TextChoices):
    API = "api", _("REST API")
    OPENAI = "openai", _("OpenAI-compatible API")
    WIDGET = "widget", _("Chat widget")
    SHARE = "share", _("Share page")
    PREVIEW = "preview", _("Preview (admin UI)")


class Conversation(WorkspaceScopedModel):
    id = id_field("conv")
    bot = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="conversations")
    end_user = models.CharField(
        max_length=255, db_index=True, help_text="The API caller's `user`, a widget visitor id, or the UI user."
    )
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.API)
    inputs = models.JSONField(default=dict, help_text="Values of the bot's variables for this conversation.")
    version_number = models.PositiveIntegerField(null=True, blank=True, help_text="Null: the draft.")
    title = models.CharField(max_length=200, blank=True)
    # Widget and share-page visitors: the anonymous visitor id, or the host site's user when verified.
    visitor_id = models.CharField(max_length=64, blank=True, db_index=True)
    end_user_verified = models.BooleanField(default=False, help_text="The host site vouched for `end_user` (HMAC).")
    end_user_name = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["workspace", "bot", "-created_at"], name="conversation_bot_recent")]


class MessageState(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    AWAITING_CONFIRMATION = "awaiting_confirmation"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL_STATES = (MessageState.COMPLETED, MessageState.FAILED, MessageState.CANCELLED)


class Message(WorkspaceScopedModel):
    id = id_field("msg")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    role = models.CharField(max_length=10, choices=[("user", "user"), ("assistant", "assistant")])
    content = models.TextField(blank=True)
    state = models.CharField(max_length=24, choices=MessageState.choices, default=MessageState.COMPLETED)
    error = models.JSONField(null=True, blank=True)
    reply_to = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    # What produced an assistant message, and what it cost.
    model = models.CharField(max_length=200, blank=True)
    provider_model = models.ForeignKey(
        "providers.ProviderModel", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    cost = models.DecimalField(max_digits=14, decimal_places=8, default=Decimal("0"))
    queue_ms = models.FloatField(null=True, blank=True, help_text="Accepted → picked up by a worker.")
    ttft_ms = models.FloatField(null=True, blank=True, help_text="Accepted → first token from the model.")
    total_ms = models.FloatField(null=True, blank=True, help_text="Accepted → finished.")
    # The step the turn is at: each generate/tool round increments it, so a redelivered task for
    # an earlier step sees it is stale and does nothing.
    step = models.PositiveIntegerField(default=0)
    # A log of what happened, for people reading it; nothing reads it back to run the turn.
    trace = models.JSONField(default=list, blank=True)
    # The passages retrieval found ({label, text, page}), given to the model at every step; set
    # with retrieved_at, which also marks retrieval as done so a redelivered task does not repeat it.
    context = models.JSONField(default=list, blank=True)
    retrieved_at = models.DateTimeField(null=True, blank=True)
    citations = models.JSONField(default=list, blank=True)
    # Tool-call rounds of this turn, as the model's messages (assistant tool_calls + tool results).
    tool_rounds = models.JSONField(default=list, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    rating = models.SmallIntegerField(null=True, blank=True, help_text="1 (good) or -1 (bad).")
    feedback = models.TextField(blank=True)
    # The API key that sent the turn (null: the UI, the widget), so a key's budget can count it.
    api_key = models.ForeignKey(
        "accounts.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )

    class Meta:
        ordering = ["created_at"]
        indexes = [
            models.Index(fields=["conversation", "created_at"], name="message_conversation_time"),
            # Usage per day reads a range of one workspace's messages.
            models.Index(fields=["workspace", "created_at"], name="message_workspace_time"),
        ]

    @property
    def is_finished(self) -> bool:
        return self.state in TERMINAL_STATES


class ToolCallState(models.TextChoices):
    PENDING = "pending"
    AWAITING_CONFIRMATION = "awaiting_confirmation"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    DENIED = "denied"


class ToolCall(WorkspaceScopedModel):
    """One function call the model asked for during a turn."""

    id = id_field("tc")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="tool_calls")
    step = models.PositiveIntegerField()
    call_id = models.CharField(max_length=100, help_text="The model's tool_call id.")
    name = models.CharField(max_length=64)
    operation_id = models.CharField(max_length=40, blank=True, help_text="The action operation behind the tool.")
    arguments = models.JSONField(default=dict)
    raw_arguments = models.TextField(blank=True)
    consequential = models.BooleanField(default=False)
    state = models.CharField(max_length=24, choices=ToolCallState.choices, default=ToolCallState.PENDING)
    result = models.TextField(blank=True, help_text="What the model is told.")
    error = models.TextField(blank=True)
    duration_ms = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["step", "created_at"]
        constraints = [models.UniqueConstraint(fields=["message", "call_id"], name="tool_call_unique")]


DEFAULT_ACCENT = "#2563eb"


class WidgetPosition(models.TextChoices):
    RIGHT = "right", _("Bottom right")
    LEFT = "left", _("Bottom left")


class BotWidget(WorkspaceScopedModel):
    """How a bot meets visitors on other sites (the widget) and at its public link (the share page).

    `public_id` is the only thing a host page holds: it names the bot and grants nothing by itself.
    The identity secret signs the host site's signed-in users (an HMAC the site computes server-side).
    """

    id = id_field("wdg")
    bot = models.OneToOneField(Bot, on_delete=models.CASCADE, related_name="widget")
    public_id = models.CharField(max_length=40, unique=True, default=PrefixedId("pub", 20), editable=False)
    enabled = models.BooleanField(default=True, help_text="Off: the widget answers no visitor on any site.")
    share_enabled = models.BooleanField(default=False, help_text="On: anyone with the link /s/PUBLIC_ID can chat.")
    allowed_origins = models.JSONField(
        default=list, blank=True, help_text="Sites that may embed the widget, as origins (https://www.example.com)."
    )
    allow_external_images = models.BooleanField(
        default=False, help_text="Let answers show images from other hosts (off: only this platform's)."
    )
    identity_secret = EncryptedTextField(null=True, blank=True)
    # Limits; null takes the workspace's default (WidgetDefaults).
    visitor_messages_per_minute = models.PositiveIntegerField(null=True, blank=True)
    ip_messages_per_minute = models.PositiveIntegerField(null=True, blank=True)
    daily_message_cap = models.PositiveIntegerField(null=True, blank=True)
    # Appearance defaults; the snippet's data attributes override them on a page.
    title = models.CharField(max_length=80, blank=True)
    accent = models.CharField(max_length=7, default=DEFAULT_ACCENT)
    position = models.CharField(max_length=5, choices=WidgetPosition.choices, default=WidgetPosition.RIGHT)
    greeting = models.TextField(blank=True, help_text="Replaces the bot's opening message in the widget.")

    def __str__(self) -> str:
        return f"widget of {self.bot_id}"


class WidgetDefaults(models.Model):
    """A workspace's limits for every bot's widget that does not set its own."""

    workspace = models.OneToOneField("accounts.Workspace", on_delete=models.CASCADE, related_name="widget_defaults")
    visitor_messages_per_minute = models.PositiveIntegerField(default=20)
    ip_messages_per_minute = models.PositiveIntegerField(default=60)
    daily_message_cap = models.PositiveIntegerField(default=2000)

    def __str__(self) -> str:
        return f"widget defaults of {self.workspace_id}"


class Budget(WorkspaceScopedModel):
    """A monthly limit on the tokens or the cost of one bot's or one API key's turns.

    At 80 % the UI and the chat APIs' response headers warn; at 100 % new turns are refused until
    the month (UTC) ends or someone raises the limit.
    """

    id = id_field("bdg")
    bot = models.OneToOneField(Bot, null=True, blank=True, on_delete=models.CASCADE, related_name="budget")
    api_key = models.OneToOneField(
        "accounts.ApiKey", null=True, blank=True, on_delete=models.CASCADE, related_name="budget"
    )
    monthly_tokens = models.PositiveBigIntegerField(null=True, blank=True)
    monthly_cost = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(bot__isnull=False, api_key__isnull=True)
                | models.Q(bot__isnull=True, api_key__isnull=False),
                name="budget_one_target",
            )
        ]

    def __str__(self) -> str:
        return f"budget of {self.bot_id or self.api_key_id}"

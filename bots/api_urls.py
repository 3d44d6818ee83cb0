from django.urls import path

from bots import api, budget_api, chat_api
from bots.widget import settings_api as widget_settings_api
from switchboard.api.deferred import deferred_api_view

urlpatterns = [
    path("bots/", api.BotListCreateApi.as_view(), name="bot_list"),
    path("bots/<str:pk>", api.BotDetailApi.as_view(), name="bot_detail"),
    path("bots/<str:pk>/publish", api.BotPublishApi.as_view(), name="bot_publish"),
    path("bots/<str:pk>/versions", api.BotVersionListApi.as_view(), name="bot_versions"),
    path("bots/<str:pk>/versions/<int:number>", api.BotVersionDetailApi.as_view(), name="bot_version_detail"),
    path("bots/<str:pk>/versions/<int:number>/restore", api.BotVersionRestoreApi.as_view(), name="bot_version_restore"),
    path("budgets", budget_api.BudgetListCreateApi.as_view(), name="budget_list"),
    path("budgets/<str:pk>", budget_api.BudgetDetailApi.as_view(), name="budget_detail"),
    path("bots/<str:pk>/widget", widget_settings_api.BotWidgetApi.as_view(), name="bot_widget"),
    path(
        "bots/<str:pk>/widget/identity-secret",
        widget_settings_api.BotWidgetSecretApi.as_view(),
        name="bot_widget_secret",
    ),
    # Blocking chat calls wait for the turn on the event loop, not in a thread (see deferred_api_view).
    path("bots/<str:pk>/chat", deferred_api_view(chat_api.BotChatApi), name="bot_chat"),
    path("messages/<str:pk>", chat_api.MessageDetailApi.as_view(), name="message_detail"),
    path("messages/<str:pk>/events", chat_api.MessageEventsApi.as_view(), name="message_events"),
    path("messages/<str:pk>/stop", chat_api.MessageStopApi.as_view(), name="message_stop"),
    path("messages/<str:pk>/confirmations", chat_api.MessageConfirmationApi.as_view(), name="message_confirm"),
    path("messages/<str:pk>/feedback", chat_api.MessageFeedbackApi.as_view(), name="message_feedback"),
    path("conversations/", chat_api.ConversationListApi.as_view(), name="conversation_list"),
    path("conversations/<str:pk>", chat_api.ConversationDetailApi.as_view(), name="conversation_detail"),
    path("conversations/<str:pk>/messages", chat_api.ConversationMessagesApi.as_view(), name="conversation_messages"),
]

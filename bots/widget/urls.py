from django.urls import path

from bots.widget import api

urlpatterns = [
    path("sessions", api.SessionStartApi.as_view(), name="widget_session"),
    path("conversations", api.VisitorConversationsApi.as_view(), name="widget_conversations"),
    path("conversations/<str:pk>/messages", api.VisitorConversationMessagesApi.as_view(), name="widget_messages"),
    path("chat", api.VisitorChatApi.as_view(), name="widget_chat"),
    path("messages/<str:pk>/events", api.VisitorEventsApi.as_view(), name="widget_events"),
    path("messages/<str:pk>/stop", api.VisitorStopApi.as_view(), name="widget_stop"),
    path("messages/<str:pk>/confirmations", api.VisitorConfirmationApi.as_view(), name="widget_confirm"),
    path("messages/<str:pk>/feedback", api.VisitorFeedbackApi.as_view(), name="widget_feedback"),
    path("messages/<str:pk>/citations/<int:n>", api.VisitorCitationApi.as_view(), name="widget_citation"),
]

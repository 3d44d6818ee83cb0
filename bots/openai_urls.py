from django.urls import path

from bots.openai_api import ChatCompletionsApi, ModelListApi
from switchboard.api.deferred import deferred_api_view

urlpatterns = [
    # Blocking completions wait for the turn on the event loop, not in a thread (see deferred_api_view).
    path("chat/completions", deferred_api_view(ChatCompletionsApi), name="openai_chat_completions"),
    path("models", ModelListApi.as_view(), name="openai_models"),
]

from django.urls import path

from bots.openai_api import ChatCompletionsApi, ModelListApi

urlpatterns = [
    path("chat/completions", ChatCompletionsApi.as_view(), name="openai_chat_completions"),
    path("models", ModelListApi.as_view(), name="openai_models"),
]

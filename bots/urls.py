from django.urls import path

from bots import log_views, usage_views, views
from bots.widget import admin as widget_admin

app_name = "bots"

urlpatterns = [
    path("bots/", views.bot_list, name="bot_list"),
    path("bots/new/", views.bot_create_view, name="bot_create"),
    path("bots/<str:bot_id>/", views.bot_detail, name="bot_detail"),
    path("bots/<str:bot_id>/edit/", views.bot_edit_view, name="bot_edit"),
    path("bots/<str:bot_id>/preview/", views.bot_preview, name="bot_preview"),
    path("bots/<str:bot_id>/delete/", views.bot_delete_view, name="bot_delete"),
    path("bots/<str:bot_id>/embed/", widget_admin.bot_embed, name="bot_embed"),
    path("bots/<str:bot_id>/publish/", views.bot_publish_view, name="bot_publish"),
    path("bots/<str:bot_id>/versions/<int:number>/restore/", views.bot_restore_view, name="bot_restore_version"),
    path("logs/", log_views.log_list, name="log_list"),
    path("usage/", usage_views.usage_page, name="usage"),
    path("usage/budgets/", usage_views.budget_save, name="budget_save"),
    path("usage/budgets/<str:budget_id>/delete/", usage_views.budget_delete_view, name="budget_delete"),
    path("logs/export.<str:fmt>", log_views.log_export, name="log_export"),
    path("conversations/<str:conversation_id>/", views.conversation_detail, name="conversation_detail"),
    path(
        "conversations/<str:conversation_id>/delete/",
        views.conversation_delete_view,
        name="conversation_delete",
    ),
]

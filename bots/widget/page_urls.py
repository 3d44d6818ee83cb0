"""Routes at the site root: the embed script, the chat frame, the share page and the visitor API."""

from django.urls import include, path

from bots.widget import pages

urlpatterns = [
    path("widget.js", pages.widget_js, name="widget_js"),
    path("widget/frame/<str:public_id>", pages.frame, name="widget_frame"),
    path("widget/v1/", include("bots.widget.urls")),
    path("s/<str:public_id>", pages.share, name="widget_share"),
]

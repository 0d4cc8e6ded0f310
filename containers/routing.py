"""Websocket routes."""

from django.urls import path

from containers import consumers

websocket_urlpatterns = [
    path("ws/events/", consumers.EventsConsumer.as_asgi()),
]

"""Websocket routes."""

from django.urls import path

from containers import consumers, terminal, watch

websocket_urlpatterns = [
    path("ws/events/", consumers.EventsConsumer.as_asgi()),
    # terminal: docker exec -it and docker attach
    path("ws/containers/<str:ref>/exec/", terminal.ExecConsumer.as_asgi()),
    path("ws/containers/<str:ref>/attach/", terminal.AttachConsumer.as_asgi()),
    # logs and stats
    path("ws/containers/<str:ref>/logs/", watch.LogsConsumer.as_asgi()),
    path("ws/containers/<str:ref>/stats/", watch.StatsConsumer.as_asgi()),
]

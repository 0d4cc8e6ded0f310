"""Websocket routes: each under /ws/hosts/<name>/ for that Docker host, and unprefixed for the
default host (as the pages, containers/urls.py)."""

from channels.routing import URLRouter
from django.urls import path

from containers import consumers, terminal, watch

host_routes = [
    path("events/", consumers.EventsConsumer.as_asgi()),
    # terminal: docker exec -it and docker attach
    path("containers/<str:ref>/exec/", terminal.ExecConsumer.as_asgi()),
    path("containers/<str:ref>/attach/", terminal.AttachConsumer.as_asgi()),
    # logs and stats
    path("containers/<str:ref>/logs/", watch.LogsConsumer.as_asgi()),
    path("containers/<str:ref>/stats/", watch.StatsConsumer.as_asgi()),
]

websocket_urlpatterns = [
    path("ws/hosts/<slug:host>/", URLRouter(host_routes)),
    path("ws/", URLRouter(host_routes)),
]

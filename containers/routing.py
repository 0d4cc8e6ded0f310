"""Websocket routes."""

from django.urls import path

from containers import consumers

websocket_urlpatterns = [
    path("ws/events/", consumers.EventsConsumer.as_asgi()),
]

# === terminal (issue 4): ws/containers/<ref>/exec/, ws/containers/<ref>/attach/ ===
from containers import terminal  # noqa: E402

websocket_urlpatterns += [
    path("ws/containers/<str:ref>/exec/", terminal.ExecConsumer.as_asgi()),
    path("ws/containers/<str:ref>/attach/", terminal.AttachConsumer.as_asgi()),
]
# === end terminal ===

# === containers and images (issue 3): pull progress ===
# === end containers and images ===

# === run form and demos (issue 5): deploy progress ===
# === end run form and demos ===

# === logs and stats (issue 7) ===
from containers import watch  # noqa: E402

websocket_urlpatterns += [
    path("ws/containers/<str:ref>/logs/", watch.LogsConsumer.as_asgi()),
    path("ws/containers/<str:ref>/stats/", watch.StatsConsumer.as_asgi()),
]
# === end logs and stats ===

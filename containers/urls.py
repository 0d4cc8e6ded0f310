"""Page URLs. Order matters: fixed paths such as containers/new/ come before containers/<ref>/."""

from django.urls import path  # noqa: F401

urlpatterns: list = []

# === run form and demos (issue 5): containers/new/, deploy/apache/ ===
# === end run form and demos ===

# === containers and images (issue 3): containers/, containers/<ref>/..., images/... ===
# === end containers and images ===

# === terminal (issue 4): containers/<ref>/terminal/, containers/<ref>/attach/ ===
# === end terminal ===

# === team (issue 6): audit/, users/, account/password/ ===
# === end team ===

# === logs and stats (issue 7): containers/<ref>/logs/... ===
# === end logs and stats ===

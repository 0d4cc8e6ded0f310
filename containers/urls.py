"""Page URLs. Order matters: fixed paths such as containers/new/ come before containers/<ref>/."""

from django.urls import path  # noqa: F401

urlpatterns: list = []

# === run form and demos (issue 5): containers/new/, deploy/apache/ ===
from containers.views import deploy, run  # noqa: E402

urlpatterns += [
    path("containers/new/", run.new_container, name="run-new"),
    path("containers/new/preview/", run.preview, name="run-preview"),
    path("containers/new/ports/", run.fill_ports, name="run-fill-ports"),
    path("containers/new/pull/", run.pull, name="run-pull"),
    path("deploy/apache/", deploy.apache, name="deploy-apache"),
    path("deploy/apache/run/", deploy.apache_run, name="deploy-apache-run"),
    path("deploy/apache/remove/", deploy.apache_remove, name="deploy-apache-remove"),
]
# === end run form and demos ===

# === containers and images (issue 3): containers/, containers/<ref>/..., images/... ===
# === end containers and images ===

# === terminal (issue 4): containers/<ref>/terminal/, containers/<ref>/attach/ ===
from containers.views import terminal  # noqa: E402

urlpatterns += [
    path("containers/<str:ref>/terminal/", terminal.exec_page, name="container-terminal"),
    path("containers/<str:ref>/attach/", terminal.attach_page, name="container-attach"),
]
# === end terminal ===

# === team (issue 6): audit/, users/, account/password/ ===
# === end team ===

# === logs and stats (issue 7): containers/<ref>/logs/... ===
from containers.views import logs as logs_views  # noqa: E402
from containers.views import stats as stats_views  # noqa: E402

urlpatterns += [
    # fixed paths first: containers/stats.json must not be taken for a container named stats.json
    path("containers/stats.json", stats_views.stats_all, name="stats-all"),
    path("containers/<str:ref>/logs/", logs_views.logs_page, name="logs"),
    path("containers/<str:ref>/logs/download/", logs_views.logs_download, name="logs-download"),
    path("containers/<str:ref>/stats/", stats_views.stats_page, name="stats"),
]
# === end logs and stats ===

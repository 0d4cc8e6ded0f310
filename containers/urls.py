"""Page URLs, namespaced by domain.

The patterns of one Docker host (containers, images, the demo deploy) are mounted twice by
dockerpanel/urls.py: under /hosts/<name>/ (namespace "host:...") and at the top level, where they
mean the default host. Templates name them unprefixed ({% url 'containers:detail' ref %}); the url
tag (containers/templatetags/hosturl.py) adds the host of the page being rendered.
Order matters: fixed paths such as containers/new/ come before containers/<ref>/.
"""

from django.urls import include, path

from containers.views import audit_log, deploy, preferences, run, terminal, users
from containers.views import containers as container_views
from containers.views import images as image_views
from containers.views import logs as logs_views
from containers.views import stats as stats_views

container_patterns = [
    # run form
    path("containers/new/", run.new_container, name="new"),
    path("containers/new/preview/", run.preview, name="new-preview"),
    path("containers/new/ports/", run.fill_ports, name="new-ports"),
    path("containers/new/pull/", run.pull, name="new-pull"),
    path("containers/", container_views.container_list, name="list"),
    path("containers/columns/", container_views.save_columns, name="columns"),
    path("containers/go/", container_views.container_go, name="go"),
    path("containers/bulk/", container_views.container_bulk, name="bulk"),
    # containers/stats.json has no trailing slash: containers/<ref>/ never takes it
    path("containers/stats.json", stats_views.stats_all, name="stats-all"),
    path("containers/<str:ref>/env/", container_views.container_env, name="env"),
    path("containers/<str:ref>/", container_views.container_detail, name="detail"),
    path("containers/<str:ref>/start/", container_views.container_start, name="start"),
    path("containers/<str:ref>/stop/", container_views.container_stop, name="stop"),
    path("containers/<str:ref>/restart/", container_views.container_restart, name="restart"),
    path("containers/<str:ref>/kill/", container_views.container_kill, name="kill"),
    path("containers/<str:ref>/pause/", container_views.container_pause, name="pause"),
    path("containers/<str:ref>/unpause/", container_views.container_unpause, name="unpause"),
    path("containers/<str:ref>/rename/", container_views.container_rename, name="rename"),
    path("containers/<str:ref>/remove/", container_views.container_remove, name="remove"),
    # terminal
    path("containers/<str:ref>/terminal/", terminal.exec_page, name="terminal"),
    path("containers/<str:ref>/attach/", terminal.attach_page, name="attach"),
    # logs and stats
    path("containers/<str:ref>/logs/", logs_views.logs_page, name="logs"),
    path("containers/<str:ref>/logs/download/", logs_views.logs_download, name="logs-download"),
    path("containers/<str:ref>/stats/", stats_views.stats_page, name="stats"),
]

image_patterns = [
    path("images/", image_views.image_list, name="list"),
    path("images/pull/", image_views.image_pull, name="pull"),
    path("images/prune/", image_views.image_prune, name="prune"),
    path("images/<path:ref>/env/", image_views.image_env, name="env"),
    path("images/<path:ref>/remove/", image_views.image_remove, name="remove"),
    path("images/<path:ref>/tag/", image_views.image_tag, name="tag"),
    path("images/<path:ref>/", image_views.image_detail, name="detail"),
]

deploy_patterns = [
    path("deploy/apache/", deploy.apache, name="apache"),
    path("deploy/apache/run/", deploy.apache_run, name="apache-run"),
    path("deploy/apache/remove/", deploy.apache_remove, name="apache-remove"),
]

# Everything about one Docker host (containers.links.HOST_NAMESPACES).
host_patterns = [
    path("", include((container_patterns, "containers"))),
    path("", include((image_patterns, "images"))),
    path("", include((deploy_patterns, "deploy"))),
]

audit_patterns = [
    path("audit/", audit_log.audit_list, name="list"),
    path("audit/export.csv", audit_log.audit_csv, name="csv"),
]

account_patterns = [
    path("users/", users.user_list, name="users"),
    path("users/add/", users.user_add, name="user-add"),
    path("users/<int:user_id>/role/", users.user_role, name="user-role"),
    path("users/<int:user_id>/deactivate/", users.user_deactivate, name="user-deactivate"),
    path("users/<int:user_id>/activate/", users.user_activate, name="user-activate"),
    path("users/<int:user_id>/password/", users.user_password, name="user-password"),
    path("account/password/", users.own_password, name="own-password"),
    path("account/theme/", preferences.set_theme, name="own-theme"),
]

urlpatterns = [
    path("hosts/<slug:host>/", include((host_patterns, "host"))),
    *host_patterns,
    path("", include((audit_patterns, "audit"))),
    path("", include((account_patterns, "accounts"))),
]

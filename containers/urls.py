"""Page URLs. Order matters: fixed paths such as containers/new/ come before containers/<ref>/."""

from django.urls import path

from containers.views import audit_log, deploy, preferences, run, terminal, users
from containers.views import containers as container_views
from containers.views import images as image_views
from containers.views import logs as logs_views
from containers.views import stats as stats_views

urlpatterns = [
    # run form and demos
    path("containers/new/", run.new_container, name="run-new"),
    path("containers/new/preview/", run.preview, name="run-preview"),
    path("containers/new/ports/", run.fill_ports, name="run-fill-ports"),
    path("containers/new/pull/", run.pull, name="run-pull"),
    path("deploy/apache/", deploy.apache, name="deploy-apache"),
    path("deploy/apache/run/", deploy.apache_run, name="deploy-apache-run"),
    path("deploy/apache/remove/", deploy.apache_remove, name="deploy-apache-remove"),
    # containers and images
    path("containers/", container_views.container_list, name="container_list"),
    path("containers/columns/", container_views.save_columns, name="container_columns"),
    path("containers/go/", container_views.container_go, name="container_go"),
    path("containers/bulk/", container_views.container_bulk, name="container_bulk"),
    path("containers/<str:ref>/env/", container_views.container_env, name="container_env"),
    path("containers/<str:ref>/", container_views.container_detail, name="container_detail"),
    path("containers/<str:ref>/start/", container_views.container_start, name="container_start"),
    path("containers/<str:ref>/stop/", container_views.container_stop, name="container_stop"),
    path("containers/<str:ref>/restart/", container_views.container_restart, name="container_restart"),
    path("containers/<str:ref>/kill/", container_views.container_kill, name="container_kill"),
    path("containers/<str:ref>/pause/", container_views.container_pause, name="container_pause"),
    path("containers/<str:ref>/unpause/", container_views.container_unpause, name="container_unpause"),
    path("containers/<str:ref>/rename/", container_views.container_rename, name="container_rename"),
    path("containers/<str:ref>/remove/", container_views.container_remove, name="container_remove"),
    path("images/", image_views.image_list, name="image_list"),
    path("images/pull/", image_views.image_pull, name="image_pull"),
    path("images/prune/", image_views.image_prune, name="image_prune"),
    path("images/<path:ref>/env/", image_views.image_env, name="image_env"),
    path("images/<path:ref>/remove/", image_views.image_remove, name="image_remove"),
    path("images/<path:ref>/tag/", image_views.image_tag, name="image_tag"),
    path("images/<path:ref>/", image_views.image_detail, name="image_detail"),
    # terminal
    path("containers/<str:ref>/terminal/", terminal.exec_page, name="container-terminal"),
    path("containers/<str:ref>/attach/", terminal.attach_page, name="container-attach"),
    # team
    path("audit/", audit_log.audit_list, name="audit"),
    path("audit/export.csv", audit_log.audit_csv, name="audit-csv"),
    path("users/", users.user_list, name="users"),
    path("users/add/", users.user_add, name="user-add"),
    path("users/<int:user_id>/role/", users.user_role, name="user-role"),
    path("users/<int:user_id>/deactivate/", users.user_deactivate, name="user-deactivate"),
    path("users/<int:user_id>/activate/", users.user_activate, name="user-activate"),
    path("users/<int:user_id>/password/", users.user_password, name="user-password"),
    path("account/password/", users.own_password, name="own-password"),
    path("account/theme/", preferences.set_theme, name="own-theme"),
    # logs and stats (containers/stats.json has no trailing slash: containers/<ref>/ never takes it)
    path("containers/stats.json", stats_views.stats_all, name="stats-all"),
    path("containers/<str:ref>/logs/", logs_views.logs_page, name="logs"),
    path("containers/<str:ref>/logs/download/", logs_views.logs_download, name="logs-download"),
    path("containers/<str:ref>/stats/", stats_views.stats_page, name="stats"),
]

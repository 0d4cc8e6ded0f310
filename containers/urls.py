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
from containers.views import audit_log, users  # noqa: E402

urlpatterns += [
    path("audit/", audit_log.audit_list, name="audit"),
    path("audit/export.csv", audit_log.audit_csv, name="audit-csv"),
    path("users/", users.user_list, name="users"),
    path("users/add/", users.user_add, name="user-add"),
    path("users/<int:user_id>/role/", users.user_role, name="user-role"),
    path("users/<int:user_id>/deactivate/", users.user_deactivate, name="user-deactivate"),
    path("users/<int:user_id>/activate/", users.user_activate, name="user-activate"),
    path("users/<int:user_id>/password/", users.user_password, name="user-password"),
    path("account/password/", users.own_password, name="own-password"),
]
# === end team ===

# === logs and stats (issue 7): containers/<ref>/logs/... ===
# === end logs and stats ===

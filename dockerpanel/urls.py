from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from containers.views import language, security, setup

urlpatterns = [
    path("", setup.dashboard, name="dashboard"),
    path("setup/", setup.setup, name="setup"),
    path("healthz", setup.healthz, name="healthz"),
    path("accounts/login/", security.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("language/", language.set_language, name="set-language"),
    # Public: the login page's scripts need it too, and it holds only UI strings.
    path("jsi18n/", login_not_required(JavaScriptCatalog.as_view()), name="jsi18n"),
    path("", include("hosts.urls")),
    path("", include("containers.urls")),
]

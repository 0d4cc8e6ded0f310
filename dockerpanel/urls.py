from django.contrib.auth import views as auth_views
from django.urls import include, path

from containers.views import security, setup

urlpatterns = [
    path("", setup.dashboard, name="dashboard"),
    path("setup/", setup.setup, name="setup"),
    path("healthz", setup.healthz, name="healthz"),
    path("accounts/login/", security.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("containers.urls")),
]

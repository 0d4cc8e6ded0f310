from django.contrib.auth import views as auth_views
from django.urls import include, path

from containers.views import setup

urlpatterns = [
    path("", setup.dashboard, name="dashboard"),
    path("setup/", setup.setup, name="setup"),
    path("healthz", setup.healthz, name="healthz"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("containers.urls")),
]

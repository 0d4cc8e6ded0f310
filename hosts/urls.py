"""/hosts/ pages (the lead's per-host pages live under /hosts/<name>/containers/ and so on)."""

from django.urls import path

from hosts import views

app_name = "hosts"
urlpatterns = [
    path("hosts/", views.host_list, name="list"),
    path("hosts/add/", views.host_add, name="add"),
    path("hosts/<slug:name>/settings/", views.host_edit, name="edit"),
    path("hosts/<slug:name>/test/", views.host_test, name="test"),
    path("hosts/<slug:name>/key/", views.host_key, name="key"),
    path("hosts/<slug:name>/default/", views.host_default, name="default"),
    path("hosts/<slug:name>/remove/", views.host_remove, name="remove"),
]

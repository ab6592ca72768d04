from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from controlpanel import live, views

admin.site.site_header = "LeanVibe control panel — administration"
admin.site.site_title = "LeanVibe admin"

urlpatterns = [
    path("", views.home, name="home"),
    path("live/navigation", live.live_navigation, name="live-navigation"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            template_name="registration/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # before the admin's own: a signed-in non-administrator is told why, not shown a login
    path("admin/login/", views.admin_login, name="admin-login"),
    path("admin/", admin.site.urls),
    path("", include("health.urls")),
    path("", include("alerts.urls")),
    path("", include("firing.urls")),
    path("", include("dashboards.urls")),
    path("", include("runbooks.urls")),
    path("", include("checklists.urls")),
    path("", include("incidents.urls")),
]

handler403 = "controlpanel.views.refused"

from django.urls import path

from core.api import views

urlpatterns = [
    path("token/", views.TokenView.as_view(), name="token"),
    path("token/refresh/", views.TokenRefresh.as_view(), name="token-refresh"),
    path("logout/", views.Logout.as_view(), name="logout"),
    path("logout/everywhere/", views.LogoutEverywhere.as_view(), name="logout-everywhere"),
    path("me/", views.Me.as_view(), name="me"),
]

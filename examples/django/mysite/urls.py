from django.urls import path

from hello import views

urlpatterns = [
    path("", views.index, name="index"),
    path("api/time", views.api_time, name="api_time"),
]

from django.urls import path

from . import views

urlpatterns = [
    path("", views.index),
    path("form", views.form),
    path("upload", views.upload),
    path("json", views.json_echo),
    path("cookies", views.cookies),
    path("read-cookies", views.read_cookies),
    path("redirect", views.redirect),
    path("stream", views.stream),
    path("error", views.error),
    path("file", views.file),
    path("hash", views.hash_body),
]

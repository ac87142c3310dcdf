"""A Django app in one module: an async view and a sync one, served by
Django's ASGIHandler."""

import django
from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY="test only",
    ROOT_URLCONF=__name__,
    ALLOWED_HOSTS=["*"],
    MIDDLEWARE=[],
    INSTALLED_APPS=[],
)
django.setup()

from django.core.asgi import get_asgi_application  # noqa: E402
from django.http import HttpResponse, JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402


async def hello(request):
    return HttpResponse("Hello from Django", content_type="text/plain")


async def echo(request):
    return JsonResponse({"method": request.method, "path": request.path,
                         "script_name": request.META.get("SCRIPT_NAME", ""),
                         "body": request.body.decode(), "query": request.GET.get("q", "")})


def sync(request):
    return HttpResponse("sync view", content_type="text/plain")


urlpatterns = [path("", hello), path("echo", echo), path("sync", sync)]

app = get_asgi_application()

from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone


def index(request):
    name = request.POST.get("name", "") if request.method == "POST" else ""
    return render(request, "hello/index.html", {"name": name})


def api_time(request):
    return JsonResponse({"now": timezone.now().isoformat()})

import hashlib
import json

from django.http import FileResponse, HttpResponse, HttpResponseRedirect, JsonResponse, StreamingHttpResponse
from django.template import engines
from django.views.decorators.csrf import csrf_exempt

INDEX = engines["django"].from_string("<h1>Hello {{ name }}</h1>")


def index(request):
    return HttpResponse(INDEX.render({"name": request.GET.get("name", "world")}))


@csrf_exempt
def form(request):
    return JsonResponse(dict(request.POST.lists()))


@csrf_exempt
def upload(request):
    files = {}
    for name, f in request.FILES.items():
        data = f.read()
        files[name] = {"filename": f.name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    return JsonResponse({"files": files, "fields": dict(request.POST.lists())})


@csrf_exempt
def json_echo(request):
    return JsonResponse({"got": json.loads(request.body)})


def cookies(request):
    resp = HttpResponse("cookies set", content_type="text/plain")
    resp.set_cookie("a", "1")
    resp.set_cookie("b", "2", httponly=True)
    return resp


def read_cookies(request):
    return JsonResponse(dict(request.COOKIES))


def redirect(request):
    return HttpResponseRedirect("/target?x=1")


def stream(request):
    return StreamingHttpResponse(("part %d\n" % i for i in range(3)), content_type="text/plain")


def error(request):
    raise RuntimeError("django boom")


def file(request):
    return FileResponse(open(__file__, "rb"), content_type="text/plain")


@csrf_exempt
def hash_body(request):
    h = hashlib.sha256()
    n = 0
    while True:
        block = request.read(1 << 16)
        if not block:
            break
        h.update(block)
        n += len(block)
    return HttpResponse("%d %s" % (n, h.hexdigest()), content_type="text/plain")

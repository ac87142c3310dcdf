"""The shared test site, in Pyramid."""

import hashlib
import html

from pyramid.config import Configurator
from pyramid.httpexceptions import HTTPFound
from pyramid.response import FileResponse, Response


def index(request):
    name = request.params.get("name", "world")
    return Response("<h1>Hello %s</h1>" % html.escape(name), content_type="text/html")


def form(request):
    return {k: request.POST.getall(k) for k in request.POST.keys()}


def upload(request):
    files, fields = {}, {}
    for name, value in request.POST.items():
        if hasattr(value, "file"):
            data = value.file.read()
            files[name] = {"filename": value.filename, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        else:
            fields.setdefault(name, []).append(value)
    return {"files": files, "fields": fields}


def json_echo(request):
    return {"got": request.json_body}


def cookies(request):
    resp = Response("cookies set", content_type="text/plain")
    resp.set_cookie("a", "1")
    resp.set_cookie("b", "2", httponly=True)
    return resp


def read_cookies(request):
    return dict(request.cookies)


def redirect(request):
    return HTTPFound(location="/target?x=1")


def stream(request):
    def gen():
        for i in range(3):
            yield ("part %d\n" % i).encode()
    return Response(app_iter=gen(), content_type="text/plain")


def error(request):
    raise RuntimeError("pyramid boom")


def file(request):
    return FileResponse(__file__, request=request, content_type="text/plain")


def hash_body(request):
    h = hashlib.sha256()
    n = 0
    while True:
        block = request.body_file.read(1 << 16)
        if not block:
            break
        h.update(block)
        n += len(block)
    return Response("%d %s" % (n, h.hexdigest()), content_type="text/plain")


def make_app():
    with Configurator() as config:
        for name, path, view, renderer in [
            ("index", "/", index, None),
            ("form", "/form", form, "json"),
            ("upload", "/upload", upload, "json"),
            ("json", "/json", json_echo, "json"),
            ("cookies", "/cookies", cookies, None),
            ("read_cookies", "/read-cookies", read_cookies, "json"),
            ("redirect", "/redirect", redirect, None),
            ("stream", "/stream", stream, None),
            ("error", "/error", error, None),
            ("file", "/file", file, None),
            ("hash", "/hash", hash_body, None),
        ]:
            config.add_route(name, path)
            config.add_view(view, route_name=name, renderer=renderer)
        return config.make_wsgi_app()


app = make_app()

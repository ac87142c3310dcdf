"""The shared test site, in Flask."""

import hashlib

from flask import Flask, Response, jsonify, make_response, redirect, render_template_string, request, send_file, stream_with_context

app = Flask(__name__)


@app.route("/")
def index():
    return render_template_string("<h1>Hello {{ name }}</h1>", name=request.args.get("name", "world"))


@app.route("/form", methods=["POST"])
def form():
    return jsonify(request.form.to_dict(flat=False))


@app.route("/upload", methods=["POST"])
def upload():
    files = {}
    for name, f in request.files.items(multi=True):
        data = f.read()
        files[name] = {"filename": f.filename, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    return jsonify({"files": files, "fields": request.form.to_dict(flat=False)})


@app.route("/json", methods=["POST"])
def json_echo():
    return jsonify({"got": request.get_json()})


@app.route("/cookies")
def cookies():
    resp = make_response("cookies set")
    resp.set_cookie("a", "1")
    resp.set_cookie("b", "2", httponly=True)
    return resp


@app.route("/read-cookies")
def read_cookies():
    return jsonify(dict(request.cookies))


@app.route("/redirect")
def redir():
    return redirect("/target?x=1")


@app.route("/stream")
def stream():
    def gen():
        for i in range(3):
            yield "part %d\n" % i
    return Response(stream_with_context(gen()), mimetype="text/plain")


@app.route("/error")
def error():
    raise RuntimeError("flask boom")


@app.route("/file")
def file():
    return send_file(__file__, mimetype="text/plain")


@app.route("/hash", methods=["POST"])
def hash_body():
    h = hashlib.sha256()
    n = 0
    while True:
        block = request.stream.read(1 << 16)
        if not block:
            break
        h.update(block)
        n += len(block)
    return "%d %s" % (n, h.hexdigest())

"""A small Pyramid site for nave: a page, a JSON view, a redirect.

    go run ./cmd/nave wsgi --python /usr/bin/python3 --chdir examples/pyramid app:app
"""

import html
import os
import sqlite3
import tempfile

from pyramid.config import Configurator
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.response import Response

# Every worker process sees the same notes: they live in SQLite.
DB = os.environ.get("NOTES_DB", os.path.join(tempfile.gettempdir(), "nave-pyramid-notes.sqlite3"))


def db():
    conn = sqlite3.connect(DB)
    conn.execute("CREATE TABLE IF NOT EXISTS notes (text TEXT NOT NULL)")
    return conn


def notes():
    with db() as conn:
        return [row[0] for row in conn.execute("SELECT text FROM notes ORDER BY rowid")]

PAGE = """<!doctype html>
<title>nave + Pyramid</title>
<h1>Notes</h1>
<ul>%s</ul>
<form method="post" action="/notes"><input name="text"> <button>Add</button></form>
<p>JSON: <a href="/api/notes">/api/notes</a></p>
"""


def index(request):
    items = "".join("<li>%s</li>" % html.escape(n) for n in notes()) or "<li><em>none yet</em></li>"
    return Response(PAGE % items, content_type="text/html")


def add_note(request):
    text = request.POST.get("text", "").strip()
    if text:
        with db() as conn:
            conn.execute("INSERT INTO notes (text) VALUES (?)", (text,))
    return HTTPSeeOther(location=request.route_url("index"))


def api_notes(request):
    all_notes = notes()
    return {"notes": all_notes, "count": len(all_notes)}


with Configurator() as config:
    config.add_route("index", "/")
    config.add_route("notes", "/notes")
    config.add_route("api_notes", "/api/notes")
    config.add_view(index, route_name="index", request_method="GET")
    config.add_view(add_note, route_name="notes", request_method="POST")
    config.add_view(api_notes, route_name="api_notes", renderer="json")
    app = config.make_wsgi_app()

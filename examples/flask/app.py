"""A small Flask site for nave: a page from a template, a form, a JSON API
and a file checksum that streams the upload.

    go run ./cmd/nave wsgi --python /usr/bin/python3 --chdir examples/flask app:app
"""

import hashlib
import os
import sqlite3
import tempfile

from flask import Flask, jsonify, redirect, render_template, request, url_for

app = Flask(__name__)
# Every worker process sees the same notes: they live in SQLite.
DB = os.environ.get("NOTES_DB", os.path.join(tempfile.gettempdir(), "nave-flask-notes.sqlite3"))


def db():
    conn = sqlite3.connect(DB)
    conn.execute("CREATE TABLE IF NOT EXISTS notes (text TEXT NOT NULL)")
    return conn


def notes():
    with db() as conn:
        return [row[0] for row in conn.execute("SELECT text FROM notes ORDER BY rowid")]


@app.route("/")
def index():
    return render_template("index.html", notes=notes())


@app.route("/notes", methods=["POST"])
def add_note():
    text = request.form.get("text", "").strip()
    if text:
        with db() as conn:
            conn.execute("INSERT INTO notes (text) VALUES (?)", (text,))
    return redirect(url_for("index"))


@app.route("/api/notes")
def api_notes():
    all_notes = notes()
    return jsonify(notes=all_notes, count=len(all_notes))


@app.route("/checksum", methods=["POST"])
def checksum():
    upload = request.files.get("file")
    if upload is None:
        return jsonify(error="send a multipart form with a 'file' field"), 400
    h = hashlib.sha256()
    size = 0
    for block in iter(lambda: upload.stream.read(1 << 16), b""):
        h.update(block)
        size += len(block)
    return jsonify(filename=upload.filename, size=size, sha256=h.hexdigest())

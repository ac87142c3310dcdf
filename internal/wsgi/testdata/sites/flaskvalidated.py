"""The Flask site behind wsgiref.validate.validator: a breach of PEP 3333
on nave's side raises AssertionError in the worker."""

from wsgiref.validate import validator

from flasksite import app as flask_app

app = validator(flask_app)

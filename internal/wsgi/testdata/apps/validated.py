"""The probe app wrapped in wsgiref.validate.validator: any breach of
PEP 3333 by nave's side raises AssertionError in the worker."""

from wsgiref.validate import validator

import probe

app = validator(probe.app)

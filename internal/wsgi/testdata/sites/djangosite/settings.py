"""A minimal Django project: the shared test site."""

SECRET_KEY = "test-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "djangosite.urls"
INSTALLED_APPS = []
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
DATABASES = {}
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "DIRS": [], "APP_DIRS": False}]
USE_TZ = True
LOGGING_CONFIG = None  # errors go to stderr through the default handler below
import logging
logging.basicConfig(level=logging.ERROR)

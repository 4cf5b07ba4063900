"""WSGI entry point for gunicorn: `gunicorn icdsite.wsgi`."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "icdsite.settings")

application = get_wsgi_application()

"""The WSGI entry point for a server: ``gunicorn backend.wsgi:app``. Without ``--preload``
each worker imports this module, builds the app from the environment and warms it
(:mod:`backend.warmup`) before it accepts a connection."""

from backend.app import create_app
from backend.warmup import warm

app = create_app()
warm(app)

"""The WSGI entry point for a production server: `gunicorn portal.wsgi:app` (see Procfile).

Each gunicorn worker process imports this module and builds its own app, and with it its
own database engine and connection pool (nothing is shared across a fork).
"""

from portal import create_app

app = create_app()

"""The WSGI entry point: builds the app, nothing more (gunicorn: `wsgi:app`)."""
from marketplace import create_app

app = create_app()

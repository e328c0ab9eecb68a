"""`python app.py`: build the service from settings and serve UI + API on one port."""

from qa.config import get_settings
from qa.http.app import serve

if __name__ == "__main__":
    settings = get_settings()
    serve(settings, settings.host, settings.port, settings.workers)

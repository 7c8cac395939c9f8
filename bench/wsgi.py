"""Bench-only WSGI entry: the real app plus a hello-world endpoint as the baseline.

    gunicorn -w 4 -b 127.0.0.1:8765 bench.wsgi:app

Never used by the product; the extra route exists only in this process.
"""

from walkabout import create_app

app = create_app()


@app.get("/bench/hello")
def hello():
    return "Hello, world!"

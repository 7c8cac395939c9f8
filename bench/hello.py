"""The throughput baseline: a bare Flask hello-world (no extensions, no cookie, no middleware).

    gunicorn -w 2 -b 127.0.0.1:8766 bench.hello:app

Deliberately imports nothing from the app: a baseline that loads the user, reads the
session or runs the app's request hooks already costs several times this one.
"""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "Hello, World!"

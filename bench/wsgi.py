"""The app as gunicorn serves it in the bench scripts.

    gunicorn -w 2 -b 127.0.0.1:8765 bench.wsgi:app

Nothing is added to it: the throughput baseline is a separate app, bench/hello.py.
"""

from walkabout import create_app

app = create_app()

"""Structured request logs without personal data: the route pattern (never the
raw path, which may hold tokens), numeric ids, status, time and user id."""

import json
import logging
import sys
import time

from flask import Flask, g, request
from flask_login import current_user

log = logging.getLogger("walkabout.requests")


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(log_format: str) -> None:
    root = logging.getLogger("walkabout")
    if any(getattr(handler, "walkabout", False) for handler in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.walkabout = True
    handler.setFormatter(
        JSONFormatter()
        if log_format == "json"
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def request_fields(status: int) -> dict:
    ids = {key: value for key, value in (request.view_args or {}).items() if isinstance(value, int)}
    return {
        "method": request.method,
        "route": request.url_rule.rule if request.url_rule else "(no route)",
        "ids": ids,
        "status": status,
        "ms": round((time.perf_counter() - g.get("request_started", time.perf_counter())) * 1000, 1),
        "user_id": current_user.id if current_user and current_user.is_authenticated else None,
        "htmx": bool(request.headers.get("HX-Request")),
    }


def init_app(app: Flask) -> None:
    configure_logging(app.config["LOG_FORMAT"])

    @app.before_request
    def start_timer():
        g.request_started = time.perf_counter()

    @app.after_request
    def log_request(response):
        if request.endpoint != "static":
            fields = request_fields(response.status_code)
            log.info(
                "%s %s %s", fields["method"], fields["route"], fields["status"], extra={"fields": fields}
            )
        return response

"""GATEWAY_LOG_FORMAT=json: one JSON object per line on stderr, with the request id, through the
redaction filter (no bearer tokens in paths). The default "text" leaves logging as it was."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from flask import Flask

from gateway.log_redaction import REQUEST_LOGGERS, RedactingFilter
from gateway.observability.request_ids import RequestIdFilter

_MARK = "_gateway_handler"


class JsonLines(logging.Formatter):
    """{"time", "level", "logger", "message", "request_id"} and the exception type when any.

    The traceback is left out on purpose: its frames' text can hold a member's data or a token;
    the type and the request id are enough to find the request."""

    def format(self, record: logging.LogRecord) -> str:
        """One JSON object."""
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        if record.exc_info and record.exc_info[0] is not None:
            line["exception"] = record.exc_info[0].__name__
        return json.dumps(line, ensure_ascii=False)


def install(app: Flask, *, json_lines: bool) -> None:
    """With json_lines: one JSON handler on the root logger (once per process), which the app's,
    Werkzeug's and gunicorn's loggers propagate to instead of printing lines of their own."""
    if not json_lines:
        return
    root = logging.getLogger()
    handler = next((h for h in root.handlers if getattr(h, _MARK, False)), None)
    if handler is None:
        handler = logging.StreamHandler()
        setattr(handler, _MARK, True)
        handler.addFilter(RequestIdFilter())
        handler.addFilter(RedactingFilter())
        root.addHandler(handler)
        if root.level == logging.NOTSET or root.level > logging.INFO:
            root.setLevel(logging.INFO)
    handler.setFormatter(JsonLines())
    # Their own handlers would print each line a second time, in their format.
    for name in (app.logger.name, *REQUEST_LOGGERS):
        logger = logging.getLogger(name)
        logger.handlers = [h for h in logger.handlers if not isinstance(h, logging.StreamHandler)]
        logger.propagate = True

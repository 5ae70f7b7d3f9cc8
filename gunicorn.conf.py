"""gunicorn settings shipped with the gateway (gunicorn reads ./gunicorn.conf.py by default;
elsewhere pass `-c /path/to/gunicorn.conf.py`).

With an access log on (`--access-logfile -`), download tokens, consent tokens and enrollment ids
in request paths are written as `…` (gateway.gunicorn_logging.RedactingLogger).
"""

logger_class = "gateway.gunicorn_logging.RedactingLogger"

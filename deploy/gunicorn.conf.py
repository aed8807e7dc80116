"""gunicorn settings for innbyggerpost (``innbyggerpost serve`` uses this file).

Every value can be overridden by the environment variables below or by gunicorn's own
command-line flags. Sync workers: spyne is synchronous; scale with processes (and hosts).
"""

import multiprocessing
import os

bind = os.environ.get("INNBYGGERPOST_BIND", "127.0.0.1:8080")
workers = int(os.environ.get("INNBYGGERPOST_WEB_WORKERS", str(min(4, multiprocessing.cpu_count() * 2))))
threads = int(os.environ.get("INNBYGGERPOST_WEB_THREADS", "4"))
worker_class = "gthread"
timeout = int(os.environ.get("INNBYGGERPOST_WEB_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
# Bodies up to the SOAP size limit (default 30 MiB) are read by the request guard, not gunicorn.
limit_request_line = 8190
accesslog = os.environ.get("INNBYGGERPOST_ACCESS_LOG", None)
errorlog = "-"
loglevel = os.environ.get("INNBYGGERPOST_LOG_LEVEL", "info").lower()
preload_app = False

"""gunicorn settings for innbyggerpost (``innbyggerpost serve`` passes ``-c python:service.entrypoints.gunicorn_conf``).

The values come from ``service.config.Settings`` (README, Configuration); gunicorn's own
command-line flags override them. gthread workers: spyne is synchronous; a process runs one
request per thread, and the threads mostly wait (KRR look-ups, group commits), so a few processes
(one per core) with many threads each serve best.
"""

from service.config import load
from service.entrypoints.soap.shedding import gunicorn_threads

_settings = load()

bind = _settings.bind
workers = _settings.web_workers
# The SOAP requests admitted at once plus two threads reserved for /health, /metrics and busy faults
# (load shedding: service/entrypoints/soap/shedding.py).
threads = gunicorn_threads(_settings)
worker_class = "gthread"
timeout = _settings.web_timeout
graceful_timeout = 30
keepalive = 30
# Bodies up to the SOAP size limit (default 30 MiB) are read by the request guard, not gunicorn.
limit_request_line = 8190
accesslog = _settings.access_log or None
errorlog = "-"
loglevel = _settings.log_level.lower()
preload_app = False

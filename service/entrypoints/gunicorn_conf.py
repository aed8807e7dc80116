"""gunicorn settings for innbyggerpost (``innbyggerpost serve`` passes ``-c python:service.entrypoints.gunicorn_conf``).

The values come from ``service.config.Settings`` (README, Configuration); gunicorn's own
command-line flags override them. gthread workers: spyne is synchronous; a process runs one
request per thread, and the threads mostly wait (KRR look-ups, group commits), so a few processes
(one per core) with many threads each serve best.
"""

import os
import shutil
from pathlib import Path

from service.config import load

_settings = load()

# prometheus-client multiprocess mode: every process writes its counters to files here, and
# /metrics adds them up. It must be set before prometheus_client is first imported (the master
# imports it below, the workers inherit it), and the folder starts empty with each server.
_metrics_dir = Path(_settings.metrics_dir).resolve()
shutil.rmtree(_metrics_dir, ignore_errors=True)
_metrics_dir.mkdir(parents=True, exist_ok=True)
os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(_metrics_dir)

from service.entrypoints.soap.shedding import gunicorn_threads  # noqa: E402  (after the variable)

bind = _settings.bind
workers = _settings.web_workers
# The SOAP requests admitted at once plus two threads reserved for /health, /metrics and busy faults
# (load shedding: service/entrypoints/soap/shedding.py).
threads = gunicorn_threads(_settings)
# gthread with a monitoring lane: /health and /metrics are served by threads of their own, never
# queued behind SOAP requests; a connection waits for its first bytes in the poller, not in a thread
# (service/entrypoints/web_worker.py, issue 17).
worker_class = "service.entrypoints.web_worker.WebWorker"
timeout = _settings.web_timeout
graceful_timeout = 30
keepalive = 30
# Bodies up to the SOAP size limit (default 30 MiB) are read by the request guard, not gunicorn.
limit_request_line = 8190
# Headers: no client of the contract sends many; bounded so that a client cannot make us keep many.
limit_request_fields = 64
limit_request_field_size = 8190
# Slow clients (issue 14): a connection that has sent nothing waits in the poller, not in a thread
# (gunicorn's gthread); a request's body and answer are bounded by INNBYGGERPOST_REQUEST_BODY_TIMEOUT_SECONDS
# and INNBYGGERPOST_SOCKET_TIMEOUT_SECONDS (service/entrypoints/slow_clients.py). Put a buffering
# reverse proxy in front (README, Deploying) so that slow clients never reach these threads at all.
accesslog = _settings.access_log or None
errorlog = "-"
loglevel = _settings.log_level.lower()
preload_app = False


def child_exit(server: object, worker: object) -> None:
    """A worker process ended: its live gauges no longer count."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(getattr(worker, "pid", 0))

"""What-if experiments for the benchmark (``run_bench.py --whatif ...``); never used by the product.

Loaded through PYTHONPATH by every process the benchmark starts, it changes the behaviour named in
``INNBYGGERPOST_BENCH_WHATIF`` (comma-separated) without touching the service code, to measure a
suggested fix before anyone writes it:

* ``gc-freeze``: after gunicorn loaded the app in a worker, ``gc.collect(); gc.freeze()`` (the
  ~90k long-lived objects of spyne/zeep/SQLAlchemy leave the collector's generations).
* ``spyne-gc-off``: ``spyne.const.MIN_GC_INTERVAL = inf`` (spyne's per-second forced
  ``gc.collect()`` in ``MethodContext.close`` is not run).
"""

import os

_WHATIF = {w.strip() for w in os.environ.get("INNBYGGERPOST_BENCH_WHATIF", "").split(",") if w.strip()}

if "spyne-gc-off" in _WHATIF:
    try:
        import spyne.const

        spyne.const.MIN_GC_INTERVAL = float("inf")
    except ImportError:
        pass

if "gc-freeze" in _WHATIF:
    try:
        import gc

        from gunicorn.workers.base import Worker

        _load_wsgi = Worker.load_wsgi

        def _load_wsgi_then_freeze(self):  # type: ignore[no-untyped-def]
            _load_wsgi(self)
            gc.collect()
            gc.freeze()

        Worker.load_wsgi = _load_wsgi_then_freeze  # type: ignore[method-assign]
    except ImportError:
        pass

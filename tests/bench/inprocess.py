"""The web application in this process, over a temporary SQLite file, for CPU and memory
measurements without servers (``insert_profile.py``, ``request_memory.py``)."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from service.adapters.migrate import upgrade  # noqa: E402
from service.bootstrap import bootstrap  # noqa: E402
from service.config import load  # noqa: E402
from service.entrypoints.cli import ensure_demo_owners  # noqa: E402
from service.entrypoints.soap.app import make_wsgi_app  # noqa: E402
from tests.support import altinn as a  # noqa: E402
from tests.support.fakes import FakeRegistry, person_with_postbox  # noqa: E402
from tests.support.wsgi import post as wsgi_post

BASIC_PATH = "/ServiceEngineExternal/CorrespondenceAgencyExternalBasic.svc"


def basic_app(database_url: str | None = None, **settings: str) -> Callable[[bytes], bytes]:
    """A function that POSTs one envelope to the Basic endpoint and returns the answer (an error
    when it is not ``200``). KRR is an in-memory registry knowing the Digipost person. The database
    is a temporary SQLite file unless ``database_url`` is given."""
    work = Path(tempfile.mkdtemp(prefix="innbyggerpost-inprocess-"))
    url = database_url or f"sqlite:///{work}/db.sqlite"
    env = {
        **os.environ,
        "INNBYGGERPOST_DATABASE_URL": url,
        "INNBYGGERPOST_SECRET_KEY_FILE": str(work / "secret.key"),
        **{f"INNBYGGERPOST_{k}": v for k, v in settings.items()},
    }
    config = load(env)
    upgrade(url)
    ensure_demo_owners(config)
    app = make_wsgi_app(
        bootstrap(config, registry=FakeRegistry(persons={a.DIGIPOST: person_with_postbox(a.DIGIPOST)}))
    )

    def post(body: bytes) -> bytes:
        status, out = wsgi_post(app, BASIC_PATH, body)
        if not status.startswith("200"):
            raise RuntimeError(out[:400])
        return out

    return post

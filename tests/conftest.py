"""Shared fixtures: a real stack (simulators, service, workers) per database backend.

Tests that take ``stack`` run twice: against an SQLite file and against PostgreSQL started from the
Debian binaries in a temporary directory. ``INNBYGGERPOST_TEST_BACKENDS=sqlite`` limits the run.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.harness import Postgres, Stack

pytest_plugins = ["tests.support.schema_guard"]  # every service response is checked against the contract

BACKENDS = [b for b in os.environ.get("INNBYGGERPOST_TEST_BACKENDS", "sqlite,postgresql").split(",") if b]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    pg = Postgres()
    try:
        yield pg.start()
    finally:
        pg.stop()


@pytest.fixture(scope="session", params=BACKENDS)
def stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    workdir = Path(tempfile.mkdtemp(prefix=f"innbyggerpost-{request.param}-"))
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_url")
    else:
        url = f"sqlite:///{workdir}/innbyggerpost.db"
    s = Stack(request.param, url, workdir).start()
    try:
        yield s
    finally:
        s.stop()
        if os.environ.get("INNBYGGERPOST_KEEP_TEST_LOGS"):
            print(f"logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def worker(stack: Stack) -> Stack:
    """The stack with (at least) one delivery worker running (started again if a test stopped it)."""
    return stack.ensure_worker()


@pytest.fixture(scope="module")
def stack_with() -> Iterator[Callable[..., Stack]]:
    """Factory of extra SQLite stacks with settings of the test's own (``INNBYGGERPOST_`` names without
    the prefix), e.g. ``stack_with(WEB_WORKERS="1", KRR_TIME_BUDGET_SECONDS="1.5")``; stopped with
    the module."""
    made: list[tuple[Stack, Path]] = []

    def make(**settings: str) -> Stack:
        workdir = Path(tempfile.mkdtemp(prefix="innbyggerpost-custom-"))
        s = Stack("sqlite", f"sqlite:///{workdir}/innbyggerpost.db", workdir)
        s.env.update({f"INNBYGGERPOST_{k}": v for k, v in settings.items()})
        made.append((s, workdir))
        return s.start()

    yield make
    for s, workdir in made:
        s.stop()
        if not os.environ.get("INNBYGGERPOST_KEEP_TEST_LOGS"):
            shutil.rmtree(workdir, ignore_errors=True)

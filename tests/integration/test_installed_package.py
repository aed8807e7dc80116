"""``pip install .`` (not editable) then ``innbyggerpost serve`` works: the wheel carries the WSDLs,
the migrations, the gunicorn settings and the simulator seed, and the service runs from it."""

from __future__ import annotations

import os
import site
import subprocess
import sys
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.harness import REPO, free_port, wait_until

NEEDED = (
    "wsdl/altinn/CorrespondenceAgencyExternalBasic.wsdl",
    "wsdl/altinn/CorrespondenceAgencyExternal.wsdl",
    "wsdl/krr/oppslagstjeneste-ws-16-02.wsdl",
    "service/migrations/versions/0001_initial_schema.py",
    "service/migrations/env.py",
    "service/entrypoints/gunicorn_conf.py",
    "simulators/seed.json",
    "service/entrypoints/inbox/templates/base.html",
    "service/entrypoints/inbox/templates/letter.html",
)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    work = tmp_path_factory.mktemp("installed")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(work),
            str(REPO),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = work.glob("innbyggerpost-*.whl")
    lib = work / "lib"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(lib), str(wheel)],
        check=True,
        capture_output=True,
    )
    # The installed copy first, the test venv's third-party packages after it; run outside the checkout.
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(lib), *site.getsitepackages()]),
        "INNBYGGERPOST_DATABASE_URL": f"sqlite:///{work}/db.sqlite",
        "INNBYGGERPOST_SECRET_KEY_FILE": str(work / "secret.key"),
    }
    yield wheel, env


def test_the_wheel_carries_the_contract_files_and_migrations(installed: tuple[Path, dict[str, str]]) -> None:
    names = set(zipfile.ZipFile(installed[0]).namelist())
    assert [n for n in NEEDED if n not in names] == []


def test_the_installed_package_migrates_and_serves_its_wsdl(installed: tuple[Path, dict[str, str]]) -> None:
    wheel, env = installed
    cwd = wheel.parent
    where = subprocess.run(
        [sys.executable, "-c", "import service; print(service.__file__)"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )
    assert where.stdout.startswith(str(cwd / "lib")), where  # not the checkout
    cli = [sys.executable, "-m", "service.entrypoints.cli"]
    assert subprocess.run([*cli, "migrate"], cwd=cwd, env=env, capture_output=True).returncode == 0
    port = free_port()
    serve = subprocess.Popen(
        [*cli, "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}/ServiceEngineExternal/CorrespondenceAgencyExternalBasic.svc?wsdl"

        def fetch() -> bytes:
            with urllib.request.urlopen(url, timeout=3) as r:
                return bytes(r.read())

        body = wait_until(fetch, 60, "the installed service to serve its WSDL")
        assert b"BasicHttpBinding_ICorrespondenceAgencyExternalBasic" in body
        # The inbox renders its templates from the wheel (demo mode off: "sign-in not configured", 503).
        inbox = f"http://127.0.0.1:{port}/inbox/login"
        try:
            urllib.request.urlopen(inbox, timeout=5)
            raise AssertionError("the inbox sign-in should answer 503 without demo mode")
        except urllib.error.HTTPError as e:
            assert e.code == 503 and b'id="signin-not-configured"' in e.read()
    finally:
        serve.terminate()
        serve.wait(20)

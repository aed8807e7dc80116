"""A real OpenID provider for the ID-porten tests: node's ``oidc-provider`` (pinned in
tests/oidc/package.json, installed by tests/oidc/install.sh from deploy/system-deps.sh) run with
tests/oidc/provider.mjs. Its sign-in page takes a fødselsnummer and offers MinID (acr
``idporten-loa-substantial``) or BankID (``idporten-loa-high``). Missing node or the package is a
failure under CI=true, elsewhere a skip saying what to run."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
import requests

from .harness import REPO, _http_ok, free_port, wait_until

OIDC_DIR = REPO / "tests" / "oidc"
CLIENT_ID = "innbyggerpost-inbox"
CLIENT_SECRET = "test-only-client-secret"


def require_provider() -> None:
    problem = ""
    if shutil.which("node") is None:
        problem = "node is missing (apt-get install nodejs npm)"
    elif not (OIDC_DIR / "node_modules" / "oidc-provider" / "package.json").exists():
        problem = "oidc-provider is not installed (run make system-deps or bash tests/oidc/install.sh)"
    if problem:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(problem)
        pytest.skip(problem)


@dataclass
class Provider:
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, clients: list[dict[str, Any]], log: Path) -> Provider:
        require_provider()
        env = {**os.environ, "OIDC_PORT": str(self.port), "OIDC_CLIENTS": json.dumps(clients)}
        out = open(log, "ab")  # noqa: SIM115 - the process keeps it
        self.process = subprocess.Popen(
            ["node", str(OIDC_DIR / "provider.mjs")],
            cwd=OIDC_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        wait_until(
            lambda: _http_ok(self.issuer + "/.well-known/openid-configuration"), 30, "the OpenID provider"
        )
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()


_FORM_ACTION = re.compile(r'<form method="post" action="([^"]+)"')


def sign_in_at_provider(s: requests.Session, authorize_url: str, pid: str, acr: str) -> str:
    """What the citizen does at ID-porten, over plain HTTP: follow the authorization request to the
    sign-in page, submit the person and level; returns the redirect to our callback (not followed)."""
    r = s.get(authorize_url, timeout=10)
    assert r.status_code == 200 and 'id="pid"' in r.text, (r.status_code, r.text[:500])
    action = unescape(_FORM_ACTION.search(r.text).group(1))  # type: ignore[union-attr]
    r = s.post(urljoin(r.url, action), data={"pid": pid, "acr": acr}, timeout=10, allow_redirects=False)
    while r.status_code in (302, 303) and "/inbox/login/callback" not in r.headers["Location"]:
        r = s.get(urljoin(r.url, r.headers["Location"]), timeout=10, allow_redirects=False)
    assert r.status_code in (302, 303), (r.status_code, r.text[:500])
    return str(r.headers["Location"])

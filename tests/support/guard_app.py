"""A tiny spyne service behind RequestGuard, for tests/test_guard_faults.py (also run by gunicorn).

Paths: ``/soap11`` (SOAP 1.1) and ``/soap12`` (SOAP 1.2). Request size limit from the environment
variable ``GUARD_TEST_MAX_BYTES`` (default 64 KiB).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable
from typing import Any

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from spyne import Application, Integer, ServiceBase, Unicode, rpc
    from spyne.server.wsgi import WsgiApplication

from service.entrypoints.soap.faults import AltinnFaultError
from service.entrypoints.soap.guard import RequestGuard
from service.entrypoints.soap.protocol import AltinnSoap11, AltinnSoap12

TNS = "urn:innbyggerpost:test:echo"
SECRET = "s3cr3t-internal-detail"


class EchoService(ServiceBase):
    @rpc(
        Unicode(min_occurs=1, nillable=False),
        Integer(min_occurs=0, nillable=False),
        _returns=Unicode,
    )
    def Echo(ctx, text, count):  # noqa: N802, N805
        return text * (count or 1)

    @rpc(Unicode, _returns=Unicode)
    def Fail(ctx, why):  # noqa: N802, N805
        raise AltinnFaultError(989, f"System authentication failed: {why}", client=True)

    @rpc(_returns=Unicode)
    def Crash(ctx):  # noqa: N802, N805
        raise ValueError(SECRET)

    @rpc(Unicode, _returns=Unicode)
    def WhoParsed(ctx, unused):  # noqa: N802, N805
        # The guard leaves its parsed envelope in the WSGI environ.
        env = ctx.transport.req_env
        root = env.get("innbyggerpost.envelope")
        return "none" if root is None else root.tag


def spyne_app(soap_version: str) -> Application:
    proto = AltinnSoap11 if soap_version == "1.1" else AltinnSoap12
    return Application(
        [EchoService],
        tns=TNS,
        name="EchoService",
        in_protocol=proto(validator="lxml"),
        out_protocol=proto(),
    )


def make_app(max_bytes: int) -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
    apps = {
        "/soap11": RequestGuard(
            WsgiApplication(spyne_app("1.1"), max_content_length=max_bytes + 1024), "1.1", max_bytes
        ),
        "/soap12": RequestGuard(
            WsgiApplication(spyne_app("1.2"), max_content_length=max_bytes + 1024), "1.2", max_bytes
        ),
    }

    def dispatch(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        app = apps.get(environ.get("PATH_INFO", ""))
        if app is None:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        return app(environ, start_response)

    return dispatch


application = make_app(int(os.environ.get("GUARD_TEST_MAX_BYTES", str(64 * 1024))))

"""RequestGuard, the AltinnFault protocols and the UsernameToken check, over real HTTP.

The spyne app (tests/support/guard_app.py) is served by wsgiref in a thread and by gunicorn in a subprocess
(gunicorn dechunks request bodies; wsgiref cannot, so the chunked cases run on gunicorn only).
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import io
import os
import socket
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
import requests
from lxml import etree

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import zeep
    import zeep.exceptions
    from zeep.wsse.username import UsernameToken

from service.entrypoints.soap.faults import (
    NS_ALTINN_FAULT,
    AltinnFaultError,
    altinn_fault_element,
    fault_envelope,
    fault_response,
)
from service.entrypoints.soap.guard import ENVIRON_ENVELOPE, RequestGuard
from service.entrypoints.soap.wssecurity import InMemoryNonceCache, verify_username_token
from tests.support import guard_app

ROOT = Path(__file__).resolve().parents[2]
MAX = 64 * 1024
S11 = "http://schemas.xmlsoap.org/soap/envelope/"
S12 = "http://www.w3.org/2003/05/soap-envelope"
TNS = guard_app.TNS
CT = {"1.1": "text/xml; charset=utf-8", "1.2": "application/soap+xml; charset=utf-8"}
PATH = {"1.1": "/soap11", "1.2": "/soap12"}
ENV_NS = {"1.1": S11, "1.2": S12}
ALTINN_CHILDREN = [
    "AltinnErrorMessage",
    "AltinnExtendedErrorMessage",
    "AltinnLocalizedErrorMessage",
    "ErrorGuid",
    "ErrorID",
    "UserGuid",
    "UserId",
]


def envelope(version: str, body: str, header: str = "") -> bytes:
    ns = ENV_NS[version]
    head = f"<e:Header>{header}</e:Header>" if header else ""
    return f'<e:Envelope xmlns:e="{ns}" xmlns:t="{TNS}">{head}<e:Body>{body}</e:Body></e:Envelope>'.encode()


ECHO = "<t:Echo><t:text>hi</t:text><t:count>2</t:count></t:Echo>"


# --------------------------------------------------------------------------------------- servers


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def wsgiref_url() -> Iterator[str]:
    server = make_server(
        "127.0.0.1",
        0,
        guard_app.make_app(MAX),
        server_class=_ThreadingWSGIServer,
        handler_class=_QuietHandler,
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def gunicorn_url() -> Iterator[str]:
    gunicorn = ROOT / ".venv" / "bin" / "gunicorn"
    if not gunicorn.exists():
        gunicorn = Path(sys.executable).parent / "gunicorn"
    port = _free_port()
    env = dict(os.environ, GUARD_TEST_MAX_BYTES=str(MAX), PYTHONPATH=str(ROOT), PYTHONWARNINGS="ignore")
    proc = subprocess.Popen(
        [
            str(gunicorn),
            "-w",
            "1",
            "-b",
            f"127.0.0.1:{port}",
            "--chdir",
            str(ROOT),
            "tests.support.guard_app:application",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {proc.stderr.read().decode() if proc.stderr else ''}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr:
            proc.stderr.close()


@pytest.fixture(params=["wsgiref", "gunicorn"])
def base_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(f"{request.param}_url"))


# --------------------------------------------------------------------------------------- helpers


def post(
    base: str, version: str, body: bytes | Iterator[bytes], content_type: str | None = None
) -> requests.Response:
    headers = {"Content-Type": content_type if content_type is not None else CT[version]}
    return requests.post(base + PATH[version], data=body, headers=headers, timeout=30)


def check_fault(
    status: int,
    content_type: str,
    body: bytes,
    version: str,
    *,
    client: bool,
    error_id: int = 0,
    contains: str | None = None,
) -> dict[str, str]:
    """Assert ``body`` is a well-shaped SOAP fault of ``version``; return the AltinnFault fields."""
    assert status == 500, body[:500]
    assert content_type.split(";")[0].strip() == CT[version].split(";")[0]
    assert b"<html" not in body.lower() and b"Traceback" not in body
    root = etree.fromstring(body)
    ns = ENV_NS[version]
    assert root.tag == f"{{{ns}}}Envelope"
    fault = root.find(f"{{{ns}}}Body/{{{ns}}}Fault")
    assert fault is not None
    if version == "1.1":
        assert [c.tag for c in fault] == ["faultcode", "faultstring", "detail"]  # no (empty) faultactor
        code = fault.findtext("faultcode")
        prefix, _, local = code.partition(":")
        assert fault.nsmap[prefix] == S11 and local == ("Client" if client else "Server")
        message = fault.findtext("faultstring")
        assert fault.find("faultstring").get("{http://www.w3.org/XML/1998/namespace}lang") == "en"
        detail = fault.find("detail")
    else:
        assert [etree.QName(c).localname for c in fault] == ["Code", "Reason", "Detail"]
        code = fault.findtext(f"{{{ns}}}Code/{{{ns}}}Value")
        prefix, _, local = code.partition(":")
        assert fault.nsmap[prefix] == S12 and local == ("Sender" if client else "Receiver")
        text = fault.find(f"{{{ns}}}Reason/{{{ns}}}Text")
        assert text.get("{http://www.w3.org/XML/1998/namespace}lang") == "en"
        message = text.text
        detail = fault.find(f"{{{ns}}}Detail")
    assert detail is not None and len(detail) == 1
    af = detail[0]
    assert af.tag == f"{{{NS_ALTINN_FAULT}}}AltinnFault"
    assert [etree.QName(c).localname for c in af] == ALTINN_CHILDREN
    assert all(etree.QName(c).namespace == NS_ALTINN_FAULT for c in af)
    fields = {etree.QName(c).localname: (c.text or "") for c in af}
    assert fields["ErrorID"] == str(error_id)
    assert fields["AltinnErrorMessage"] == message == fields["AltinnLocalizedErrorMessage"]
    assert len(fields["ErrorGuid"]) == 36
    if contains is not None:
        assert contains in message, message
    return fields


def check_resp(resp: requests.Response, version: str, **kw: Any) -> dict[str, str]:
    return check_fault(resp.status_code, resp.headers.get("Content-Type", ""), resp.content, version, **kw)


# ------------------------------------------------------------------------------ bad input, both servers


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_valid_request_passes(base_url: str, version: str) -> None:
    resp = post(base_url, version, envelope(version, ECHO))
    assert resp.status_code == 200, resp.text
    assert b"hihi" in resp.content
    resp = post(base_url, version, envelope(version, "<t:WhoParsed/>"))
    assert f"{{{ENV_NS[version]}}}Envelope" in resp.text  # the guard's parsed envelope reached the service


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_malformed_xml(base_url: str, version: str) -> None:
    resp = post(base_url, version, envelope(version, ECHO)[:-12])
    check_resp(resp, version, client=True, contains="not well-formed XML")


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_doctype_and_external_entity_refused(base_url: str, version: str) -> None:
    xxe = (
        b'<?xml version="1.0"?>\n<!DOCTYPE e:Envelope [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
        + envelope(version, "<t:Echo><t:text>&xxe;</t:text></t:Echo>")
    )
    resp = post(base_url, version, xxe)
    check_resp(resp, version, client=True, contains="DOCTYPE")
    assert b"root:" not in resp.content


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_billion_laughs_refused(base_url: str, version: str) -> None:
    lol = (
        b'<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
        + envelope(version, "<t:Echo><t:text>&lol3;</t:text></t:Echo>")
    )
    check_resp(post(base_url, version, lol), version, client=True, contains="DOCTYPE")


@pytest.mark.parametrize("version", ["1.1", "1.2"])
@pytest.mark.parametrize("body", [b"", b"   \r\n  "])
def test_empty_body(base_url: str, version: str, body: bytes) -> None:
    check_resp(post(base_url, version, body), version, client=True, contains="empty")


@pytest.mark.parametrize("version", ["1.1", "1.2"])
@pytest.mark.parametrize(
    ("content_type", "expect"),
    [
        ("application/json", "Unsupported Content-Type"),
        ("", "no Content-Type"),
        ('multipart/related; type="application/xop+xml"; boundary=x', "multipart/related"),
        ("OTHER", "this endpoint speaks SOAP"),
    ],
)
def test_wrong_content_type(base_url: str, version: str, content_type: str, expect: str) -> None:
    if content_type == "OTHER":
        content_type = CT["1.2" if version == "1.1" else "1.1"]
    check_resp(
        post(base_url, version, envelope(version, ECHO), content_type), version, client=True, contains=expect
    )


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_content_type_parameters_accepted(base_url: str, version: str) -> None:
    ct = "TEXT/XML;charset=UTF-8" if version == "1.1" else 'application/soap+xml;charset=utf-8;action="urn:x"'
    assert post(base_url, version, envelope(version, ECHO), ct).status_code == 200


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_other_soap_version_envelope(base_url: str, version: str) -> None:
    other = "1.2" if version == "1.1" else "1.1"
    resp = post(base_url, version, envelope(other, ECHO))
    check_resp(resp, version, client=True, contains=f"SOAP {other} envelope")


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_not_an_envelope(base_url: str, version: str) -> None:
    check_resp(post(base_url, version, b"<hello/>"), version, client=True, contains="not a SOAP")


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_oversize_with_content_length_is_drained_and_refused(base_url: str, version: str) -> None:
    big = envelope(version, f"<t:Echo><t:text>{'x' * (MAX + 10)}</t:text></t:Echo>")
    resp = post(base_url, version, big)
    check_resp(resp, version, client=True, contains="too large")


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_oversize_content_length_refused_before_reading(base_url: str, version: str) -> None:
    # Declares 1 GiB and sends nothing: the fault must come back without the body being read.
    host, port = base_url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.putrequest("POST", PATH[version])
        conn.putheader("Content-Type", CT[version])
        conn.putheader("Content-Length", str(1024**3))
        conn.endheaders()
        resp = conn.getresponse()
        body = resp.read()
        check_fault(
            resp.status,
            resp.getheader("Content-Type") or "",
            body,
            version,
            client=True,
            contains="1024.0 MiB",
        )
    finally:
        conn.close()


def _chunks(data: bytes, size: int = 8192) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_chunked_within_limit_works(gunicorn_url: str, version: str) -> None:
    body = envelope(version, f"<t:Echo><t:text>{'y' * (MAX // 2)}</t:text></t:Echo>")
    resp = post(gunicorn_url, version, _chunks(body))
    assert resp.request.headers.get("Transfer-Encoding") == "chunked"
    assert resp.status_code == 200, resp.text[:500]
    assert resp.text.count("y") >= MAX // 2


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_oversize_chunked(gunicorn_url: str, version: str) -> None:
    big = envelope(version, f"<t:Echo><t:text>{'x' * (MAX + 10)}</t:text></t:Echo>")
    resp = post(gunicorn_url, version, _chunks(big))
    assert resp.request.headers.get("Transfer-Encoding") == "chunked"
    check_resp(resp, version, client=True, contains="too large")


# ------------------------------------------------------------------------ faults from inside spyne


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_unknown_operation(base_url: str, version: str) -> None:
    resp = post(base_url, version, envelope(version, "<t:NoSuchOperation/>"))
    check_resp(resp, version, client=True, contains=f"Unknown operation: {{{TNS}}}NoSuchOperation")


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_schema_invalid_request_names_the_field(base_url: str, version: str) -> None:
    resp = post(base_url, version, envelope(version, "<t:Echo><t:count>2</t:count></t:Echo>"))
    fields = check_resp(resp, version, client=True, contains="does not validate")
    assert f"{{{TNS}}}text" in fields["AltinnErrorMessage"]
    assert fields["AltinnExtendedErrorMessage"] == "Client.SchemaValidationError"
    resp = post(
        base_url, version, envelope(version, "<t:Echo><t:text>a</t:text><t:count>two</t:count></t:Echo>")
    )
    check_resp(resp, version, client=True, contains="count")


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_spyne_soap_error(base_url: str, version: str) -> None:
    ns = ENV_NS[version]
    resp = post(base_url, version, f'<e:Envelope xmlns:e="{ns}"/>'.encode())
    check_resp(resp, version, client=True, contains="envelope is empty")


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_method_raising_altinn_fault(base_url: str, version: str) -> None:
    resp = post(base_url, version, envelope(version, "<t:Fail><t:why>bad password</t:why></t:Fail>"))
    fields = check_resp(
        resp, version, client=True, error_id=989, contains="System authentication failed: bad password"
    )
    assert fields["AltinnExtendedErrorMessage"] == "No information available"
    assert fields["UserGuid"] == "-no value-"


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_method_raising_unexpected_exception(base_url: str, version: str) -> None:
    resp = post(base_url, version, envelope(version, "<t:Crash/>"))
    check_resp(resp, version, client=False, error_id=0, contains="unexpected error")
    assert guard_app.SECRET.encode() not in resp.content
    assert b"ValueError" not in resp.content


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_get_wsdl_passes_through(base_url: str, version: str) -> None:
    resp = requests.get(base_url + PATH[version] + "?wsdl", timeout=10)
    assert resp.status_code == 200
    assert etree.fromstring(resp.content).tag == "{http://schemas.xmlsoap.org/wsdl/}definitions"


# ------------------------------------------------------------------------------------------- zeep


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_zeep_sees_altinn_fault_detail(wsgiref_url: str, version: str) -> None:
    client = zeep.Client(wsgiref_url + PATH[version] + "?wsdl")
    assert client.service.Echo(text="ab", count=2) == "abab"
    cases: list[tuple[Any, str]] = [
        (lambda: client.service.Fail(why="nope"), "989"),
        (lambda: client.service.Crash(), "0"),
        (lambda: client.service.Echo(text="x" * (MAX + 1)), "0"),  # refused by the guard
    ]
    for call, error_id in cases:
        with pytest.raises(zeep.exceptions.Fault) as info:
            call()
        detail = info.value.detail
        assert detail is not None
        af = detail.find(f"{{{NS_ALTINN_FAULT}}}AltinnFault")
        assert af is not None
        assert af.findtext(f"{{{NS_ALTINN_FAULT}}}ErrorID") == error_id
        assert info.value.message == af.findtext(f"{{{NS_ALTINN_FAULT}}}AltinnErrorMessage")


# ------------------------------------------------------------------------------ guard, in process


def _call(app: Any, environ: dict[str, Any]) -> tuple[str, dict[str, str], bytes]:
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        seen["status"], seen["headers"] = status, dict(headers)
        return None

    body = b"".join(app(environ, start_response))
    return seen["status"], seen["headers"], body


def _environ(body: bytes, version: str = "1.1", method: str = "POST") -> dict[str, Any]:
    return {
        "REQUEST_METHOD": method,
        "PATH_INFO": PATH[version],
        "CONTENT_TYPE": CT[version],
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
    }


@pytest.mark.parametrize("where", ["call", "iterate", "no_start_response"])
def test_inner_app_exception_becomes_server_fault(where: str) -> None:
    def broken(environ: dict[str, Any], start_response: Any) -> Any:
        if where == "call":
            raise RuntimeError("db password=hunter2")
        if where == "no_start_response":
            return [b"oops"]
        start_response("200 OK", [("Content-Type", "text/xml")])

        def gen() -> Iterator[bytes]:
            yield b"<partial"
            raise RuntimeError("db password=hunter2")

        return gen()

    for method in ("POST", "GET"):
        status, headers, body = _call(
            RequestGuard(broken, "1.2", MAX), _environ(envelope("1.2", ECHO), "1.2", method)
        )
        check_fault(int(status[:3]), headers["Content-Type"], body, "1.2", client=False)
        assert b"hunter2" not in body and b"partial" not in body


def test_guard_hands_over_the_parsed_envelope_not_the_body() -> None:
    """One parse: the inner application gets the guard's tree; the body is not kept beside it
    (a 30 MiB request would otherwise be held, and copied by spyne, next to its tree)."""
    seen: dict[str, Any] = {}

    def inner(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen["body"] = environ["wsgi.input"].read()
        seen["length"] = environ["CONTENT_LENGTH"]
        seen["root"] = environ[ENVIRON_ENVELOPE]
        start_response("200 OK", [("Content-Type", "text/xml"), ("Content-Length", "999")])
        return [b"ok"]

    body = envelope("1.1", ECHO)
    status, headers, out = _call(RequestGuard(inner, "1.1", MAX), _environ(body))
    assert status == "200 OK" and out == b"ok" and headers["Content-Length"] == "2"
    assert seen["body"] == b"" and seen["length"] == "0"
    assert seen["root"].tag == f"{{{S11}}}Envelope"
    assert etree.tostring(seen["root"]) == etree.tostring(etree.fromstring(body))


def test_guard_refuses_truncated_body() -> None:
    env = _environ(envelope("1.1", ECHO))
    env["CONTENT_LENGTH"] = "100000"
    status, headers, body = _call(RequestGuard(guard_app.application, "1.1", 200000), env)
    check_fault(int(status[:3]), headers["Content-Type"], body, "1.1", client=True, contains="ended after")


# ------------------------------------------------------------------------------------ faults.py


def test_fault_building_blocks() -> None:
    err = AltinnFaultError(40016, "Invalid SSN", extended="Reportee", client=True, user_id="10001")
    af = altinn_fault_element(err)
    assert [etree.QName(c).localname for c in af] == ALTINN_CHILDREN
    assert af.findtext(f"{{{NS_ALTINN_FAULT}}}UserId") == "10001"
    assert af.findtext(f"{{{NS_ALTINN_FAULT}}}AltinnExtendedErrorMessage") == "Reportee"
    for version in ("1.1", "1.2"):
        status, headers, body = fault_response(version, err)  # type: ignore[arg-type]
        assert body == fault_envelope(version, err)  # type: ignore[arg-type]
        assert dict(headers)["Content-Length"] == str(len(body))
        check_fault(
            int(status[:3]), dict(headers)["Content-Type"], body, version, client=True, error_id=40016
        )
    server = AltinnFaultError(0, "KRR down")
    assert not server.client and server.faultcode == "Server" and server.error_guid != err.error_guid


# ---------------------------------------------------------------------------- UsernameToken check

USERS = {"10001": "demo-password", "10002": "other-password"}
DIGEST_SECRETS = {"10001": "demo-password"}  # 10002 has no digest secret stored
MAX_AGE = 300


def _token_envelope(
    user: str, password: str, *, digest: bool = False, created: datetime | None = None
) -> Any:
    env = etree.fromstring(envelope("1.2", ECHO))
    token = UsernameToken(user, password, use_digest=digest, created=created)
    env, _ = token.apply(env, {})
    return env


def _verify(env: Any, cache: InMemoryNonceCache | None = None, now: datetime | None = None, **kw: Any) -> str:
    return verify_username_token(
        env,
        check_password=lambda u, p: USERS.get(u) == p,
        lookup_digest_secret=DIGEST_SECRETS.get,
        user_exists=lambda u: u in USERS,
        nonce_cache=cache if cache is not None else InMemoryNonceCache(),
        max_age_seconds=MAX_AGE,
        now=now,
        **kw,
    )


def _auth_fails(contains: str, env: Any, **kw: Any) -> AltinnFaultError:
    with pytest.raises(AltinnFaultError) as info:
        _verify(env, **kw)
    err = info.value
    assert err.error_id == 989 and err.client
    assert err.message.startswith("System authentication failed: ")
    assert contains in err.message, err.message
    for secret in (*USERS.values(), "wrong-password"):
        assert secret not in err.message
    return err


def test_password_text_ok() -> None:
    assert _verify(_token_envelope("10001", "demo-password")) == "10001"
    assert _verify(etree.ElementTree(_token_envelope("10002", "other-password"))) == "10002"


def test_password_digest_ok() -> None:
    assert _verify(_token_envelope("10001", "demo-password", digest=True)) == "10001"


def test_password_digest_hand_computed() -> None:
    nonce = os.urandom(16)
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")  # 7 fraction digits, like .NET
    digest = base64.b64encode(hashlib.sha1(nonce + created.encode() + b"demo-password").digest()).decode()
    b64nonce = base64.b64encode(nonce).decode()
    ptype = (
        "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest"
    )
    header = (
        '<wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"'
        ' xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">'
        f"<wsu:Timestamp><wsu:Created>{created}</wsu:Created>"
        "<wsu:Expires>2999-01-01T00:00:00Z</wsu:Expires></wsu:Timestamp>"
        "<wsse:UsernameToken><wsse:Username>10001</wsse:Username>"
        f'<wsse:Password Type="{ptype}">{digest}</wsse:Password>'
        f"<wsse:Nonce>{b64nonce}</wsse:Nonce><wsu:Created>{created}</wsu:Created>"
        "</wsse:UsernameToken></wsse:Security>"
    )
    env = etree.fromstring(envelope("1.1", ECHO, header=header))
    assert _verify(env) == "10001"


def test_wrong_password() -> None:
    _auth_fails("wrong password for system user '10001'", _token_envelope("10001", "wrong-password"))
    _auth_fails("wrong password digest", _token_envelope("10001", "wrong-password", digest=True))


def test_unknown_user() -> None:
    _auth_fails("unknown system user '99999'", _token_envelope("99999", "demo-password"))
    env = _token_envelope("99999", "demo-password")
    with pytest.raises(AltinnFaultError, match="unknown system user '99999' or wrong password"):
        verify_username_token(
            env, check_password=lambda u, p: False, nonce_cache=InMemoryNonceCache(), max_age_seconds=MAX_AGE
        )


def test_digest_without_stored_secret_refused() -> None:
    _auth_fails("PasswordDigest is not enabled", _token_envelope("10002", "other-password", digest=True))


def test_replayed_nonce() -> None:
    cache = InMemoryNonceCache()
    env = _token_envelope("10001", "demo-password", digest=True)
    assert _verify(env, cache) == "10001"
    _auth_fails("already used", env, cache=cache)
    # a failed attempt does not burn the nonce
    fresh = _token_envelope("10001", "demo-password", digest=True)
    bad = _token_envelope("10001", "wrong-password", digest=True)
    nonce = fresh.find(".//{*}Nonce").text
    bad.find(".//{*}Nonce").text = nonce
    bad.find(".//{*}Created").text = fresh.find(".//{*}Created").text
    _auth_fails("wrong password digest", bad, cache=cache)
    assert _verify(fresh, cache) == "10001"


def test_stale_and_future_created() -> None:
    now = datetime.now(UTC)
    old = now - timedelta(seconds=MAX_AGE + 5)
    _auth_fails("older than 300 seconds", _token_envelope("10001", "demo-password", digest=True, created=old))
    future = now + timedelta(seconds=MAX_AGE + 5)
    _auth_fails("in the future", _token_envelope("10001", "demo-password", digest=True, created=future))
    # within the window on both sides
    ok = _token_envelope("10001", "demo-password", digest=True, created=now - timedelta(seconds=MAX_AGE - 5))
    assert _verify(ok) == "10001"
    env = _token_envelope("10001", "demo-password", digest=True, created=now)
    _auth_fails("older than", env, now=now + timedelta(seconds=MAX_AGE + 1))


def test_missing_security_header() -> None:
    _auth_fails("no wsse:Security", etree.fromstring(envelope("1.2", ECHO)))
    empty = etree.fromstring(
        envelope(
            "1.2",
            ECHO,
            header='<s:Security xmlns:s="http://docs.oasis-open.org/wss/2004/01/'
            'oasis-200401-wss-wssecurity-secext-1.0.xsd"/>',
        )
    )
    _auth_fails("no wsse:UsernameToken", empty)


def test_expired_timestamp() -> None:
    env = _token_envelope("10001", "demo-password")
    security = env.find(".//{*}Security")
    wsu = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
    ts = etree.SubElement(security, f"{{{wsu}}}Timestamp")
    etree.SubElement(ts, f"{{{wsu}}}Created").text = "2020-01-01T00:00:00Z"
    etree.SubElement(ts, f"{{{wsu}}}Expires").text = "2020-01-01T00:05:00Z"
    _auth_fails("wsu:Timestamp expired", env)


def test_digest_requires_nonce_and_created() -> None:
    env = _token_envelope("10001", "demo-password", digest=True)
    nonce = env.find(".//{*}Nonce")
    nonce.getparent().remove(nonce)
    _auth_fails("requires a wsse:Nonce", env)


def test_nonce_cache_expiry() -> None:
    clock = [1000.0]
    cache = InMemoryNonceCache(max_entries=2, clock=lambda: clock[0])
    assert cache.add_if_absent("a", 1010)
    assert not cache.add_if_absent("a", 1010)
    clock[0] = 1011
    assert cache.add_if_absent("a", 1020)  # expired, accepted again
    assert cache.add_if_absent("b", 1020) and cache.add_if_absent("c", 1020)
    assert len(cache) == 2  # bounded


def _respelt(nonce: str) -> str:
    """The same bytes in another base64 spelling: the unused low bits of the last character set."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    stripped = nonce.rstrip("=")
    last = alphabet.index(stripped[-1])
    unused = {2: 0b1111, 1: 0b11}[len(nonce) - len(stripped)]
    respelt = stripped[:-1] + alphabet[last | unused] + nonce[len(stripped) :]
    assert respelt != nonce and base64.b64decode(respelt) == base64.b64decode(nonce)
    return respelt


def test_a_nonce_respelt_in_another_base64_form_is_still_a_replay() -> None:
    """Issue 14: 15 of 15 re-spelt nonces were accepted; the cache is keyed on the decoded bytes."""
    cache = InMemoryNonceCache()
    env = _token_envelope("10001", "demo-password", digest=True)  # the digest is over the decoded bytes
    assert _verify(env, cache) == "10001"
    env.find(".//{*}Nonce").text = _respelt(env.find(".//{*}Nonce").text)
    _auth_fails("already used", env, cache=cache)

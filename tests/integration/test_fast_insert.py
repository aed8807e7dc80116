"""The insert past spyne (``soap/fast_insert.py``) answers exactly as spyne does: a differential test.

Two web applications of ``make_wsgi_app`` in this process, each over its own SQLite file, one with
``INNBYGGERPOST_INSERT_FAST_PATH=true`` and one with ``false`` (spyne for every request), get the
same requests in the same order: the insert requests of ``examples/requests``, the raw bad-input
cases of ``tests/e2e/test_bad_input_service.py``, the validation cases of
``tests/e2e/test_validation_idempotency.py``, every field of the contract
(``tests/integration/test_contract_types.py``), node-soap's two shapes
(``tests/unit/test_node_soap_shapes.py``), schema-invalid bodies (bad type, wrong namespace, missing
and misordered elements, bad base64), unknown elements, ``xsi:nil``, repeats, another owner's
service, KRR down, wrong credentials, and WS-Security (text and digest, with and without
WS-Addressing) on the SOAP 1.2 endpoint. Each answer must be the same HTTP status, Content-Type and
body, byte for byte after C14N once the ErrorGuid and the times are normalised; at the end both
databases must hold the same rows. The test also requires that the valid requests did take the fast
path, and that the ones it must leave to spyne did not (else it would compare spyne with itself).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import os
import re
import sqlite3
import warnings
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from lxml import etree

from service import ns
from service.adapters.migrate import upgrade
from service.bootstrap import bootstrap
from service.config import load
from service.entrypoints.cli import ensure_demo_owners
from service.entrypoints.soap.app import make_wsgi_app
from service.entrypoints.soap.fast_insert import ENVIRON_FAST
from tests.support.fakes import FakeRegistry, person_with_postbox
from tests.support.wsgi import exchange

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import zeep
    from zeep.wsse.username import UsernameToken

    from tests.e2e import test_bad_input_service as bad
    from tests.e2e import test_validation_idempotency as validation
    from tests.integration.test_contract_types import _full_correspondence
    from tests.support import altinn as a
    from tests.unit.test_node_soap_shapes import NOTIFICATION, SDP_NOTIFICATIONS, _as_node_soap

ROOT = Path(__file__).resolve().parents[2]
BASIC_PATH = "/ServiceEngineExternal/CorrespondenceAgencyExternalBasic.svc"
WS_PATH = "/ServiceEngineExternal/CorrespondenceAgencyExternal.svc"
PATHS = {"basic": BASIC_PATH, "ws": WS_PATH}
CT = {"basic": "text/xml; charset=utf-8", "ws": "application/soap+xml; charset=utf-8"}
WSA = "http://www.w3.org/2005/08/addressing"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
DIGEST_TYPE = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest"
)
CORR_NS = "http://schemas.altinn.no/services/ServiceEngine/Correspondence/2010/10"
TNS = "http://www.altinn.no/services/ServiceEngine/Correspondence/2009/10"


# ------------------------------------------------------------------------------------------ the apps


class App:
    def __init__(self, tmp: Path, fast: bool, krr_fails: bool = False) -> None:
        self.db = tmp / f"db-{'fast' if fast else 'spyne'}.sqlite"
        url = f"sqlite:///{self.db}"
        env = {
            **os.environ,
            "INNBYGGERPOST_DATABASE_URL": url,
            "INNBYGGERPOST_SECRET_KEY_FILE": str(tmp / "secret.key"),
            "INNBYGGERPOST_INSERT_FAST_PATH": "true" if fast else "false",
            "INNBYGGERPOST_LOGIN_REFUSAL_DELAY_SECONDS": "0",
            "INNBYGGERPOST_LOGIN_FAILURES_MAX": "1000",
        }
        config = load(env)
        assert config.insert_fast_path is fast
        upgrade(url)
        ensure_demo_owners(config)
        self.registry = FakeRegistry(
            persons={a.DIGIPOST: person_with_postbox(a.DIGIPOST), a.EBOKS: person_with_postbox(a.EBOKS)},
            fail=krr_fails,
        )
        self.app = make_wsgi_app(bootstrap(config, registry=self.registry))

    def post(self, variant: str, body: bytes) -> tuple[str, str, bytes, bool]:
        status, headers, out, environ = exchange(self.app, PATHS[variant], body, CT[variant])
        ctype = dict((k.lower(), v) for k, v in headers).get("content-type", "")
        assert dict((k.lower(), v) for k, v in headers).get("content-length") == str(len(out))
        return status, ctype, out, bool(environ.get(ENVIRON_FAST))


# ------------------------------------------------------------------------------------------ requests

_clients: dict[Any, Any] = {}


def _client(variant: str, wsse: Any = None, key: Any = None) -> Any:
    k = (variant, key)
    if k not in _clients:
        wsdl = a.BASIC_WSDL if variant == "basic" else a.WS_WSDL
        _clients[k] = zeep.Client(str(a.altinn_reference(wsdl)), wsse=wsse)
    return _clients[k]


def envelope(
    variant: str,
    reference: str,
    corr: dict[str, Any],
    code: str = "DEMO",
    owner: tuple[str, str] = ("10001", "demo-password"),
) -> etree._Element:
    if variant == "basic":
        client = _client("basic")
        svc = client.create_service(a.BASIC_BINDING, "http://127.0.0.1/x")
        return client.create_message(svc, "InsertCorrespondenceBasicV2", *owner, code, reference, corr)
    client = _client("ws", UsernameToken(*owner), key=owner)
    svc = client.create_service(a.WS_BINDING, "http://127.0.0.1/x")
    return client.create_message(svc, "InsertCorrespondenceV2", code, reference, corr)


def _bytes(env: etree._Element) -> bytes:
    return etree.tostring(env, xml_declaration=True, encoding="utf-8")


def _operation(env: etree._Element) -> etree._Element:
    return env[-1][0]


def _correspondence(env: etree._Element) -> etree._Element:
    return _operation(env).find(f"{{{TNS}}}Correspondence")


def _edit(variant: str, ref: str, corr: dict[str, Any], change: Callable[[etree._Element], None]) -> bytes:
    env = envelope(variant, ref, corr)
    change(env)
    return _bytes(env)


def _set_text(local: str, value: str) -> Callable[[etree._Element], None]:
    def change(env: etree._Element) -> None:
        el = next(e for e in env.iter() if isinstance(e.tag, str) and etree.QName(e).localname == local)
        el.text = value

    return change


def _remove(local: str) -> Callable[[etree._Element], None]:
    def change(env: etree._Element) -> None:
        el = next(e for e in env.iter() if isinstance(e.tag, str) and etree.QName(e).localname == local)
        el.getparent().remove(el)

    return change


def _unknown_element(env: etree._Element) -> None:
    corr = _correspondence(env)
    etree.SubElement(corr, f"{{{CORR_NS}}}UseServiceOwnerShortNameAsSenderOfSms").text = "true"


def _wrong_namespace(env: etree._Element) -> None:
    el = _correspondence(env).find(f"{{{CORR_NS}}}Reportee")
    el.tag = "{http://example.com/not-altinn}Reportee"


def _misordered(env: etree._Element) -> None:
    corr = _correspondence(env)
    first, second = corr[0], corr[1]
    corr.remove(second)
    corr.insert(0, second)
    assert corr[1] is first


def _nil(local: str) -> Callable[[etree._Element], None]:
    def change(env: etree._Element) -> None:
        el = next(e for e in env.iter() if isinstance(e.tag, str) and etree.QName(e).localname == local)
        for child in list(el):
            el.remove(child)
        el.text = None
        el.set(f"{{{ns.XSI}}}nil", "true")

    return change


def _xsi_type(env: etree._Element) -> None:
    _correspondence(env).set(f"{{{ns.XSI}}}type", "ns1:InsertCorrespondenceV2")


def _comment(env: etree._Element) -> None:
    _correspondence(env).insert(0, etree.Comment(" a comment "))


def _message_name(variant: str) -> Callable[[etree._Element], None]:
    def change(env: etree._Element) -> None:
        op = _operation(env)
        name = (
            "ICorrespondenceAgencyExternalBasic_InsertCorrespondenceBasicV2_InputMessage"
            if variant == "basic"
            else "ICorrespondenceAgencyExternal_InsertCorrespondenceV2_InputMessage"
        )
        op.tag = name

    return change


def _node_soap(env: etree._Element) -> None:
    body = env[-1]
    node = _as_node_soap(body[0])
    body.remove(body[0])
    body.append(node)


def _ws_digest(ref: str, corr: dict[str, Any], addressing: bool) -> bytes:
    env = envelope("ws", ref, corr)
    token = env.find(f".//{{{WSSE}}}UsernameToken")
    password = token.find(f"{{{WSSE}}}Password")
    nonce = os.urandom(16)
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    digest = base64.b64encode(hashlib.sha1(nonce + created.encode() + b"demo-password").digest()).decode()
    password.set("Type", DIGEST_TYPE)
    password.text = digest
    etree.SubElement(token, f"{{{WSSE}}}Nonce").text = base64.b64encode(nonce).decode()
    etree.SubElement(token, f"{{{WSU}}}Created").text = created
    header = env[0]
    for el in [e for e in header if e.tag.startswith(f"{{{WSA}}}")]:
        header.remove(el)
    if addressing:
        etree.SubElement(
            header, f"{{{WSA}}}Action"
        ).text = f"{TNS}/ICorrespondenceAgencyExternal/InsertCorrespondenceV2"
        etree.SubElement(header, f"{{{WSA}}}MessageID").text = "urn:uuid:6f1f6a38-3a44-4c4f-9e7e-0d1f6f0f0c01"
        etree.SubElement(header, f"{{{WSA}}}To").text = "http://127.0.0.1/x"
    return _bytes(env)


def _example_requests() -> list[tuple[str, str, bytes]]:
    out = []
    for variant, folder in (("basic", "basic"), ("ws", "ws")):
        for path in sorted((ROOT / "examples" / "requests" / folder).glob("InsertCorrespondence*.xml")):
            out.append((f"example-{folder}-{path.stem}", variant, path.read_bytes()))
    return out


def _bad_input_requests() -> list[tuple[str, str, bytes]]:
    stack = SimpleNamespace(basic_url="http://127.0.0.1/x", ws_url="http://127.0.0.1/x")
    out = []
    for variant in ("basic", "ws"):
        for case in bad.CASES:
            if case.startswith(("oversize", "content-type")):  # refused by the guard before any parse
                continue
            req = bad.build(stack, variant, case, f"bad-{variant}-{case}")  # type: ignore[arg-type]
            assert isinstance(req.body, bytes)
            out.append((f"bad-{case}", variant, req.body))
    return out


#: (id, variant, body, must take the fast path: True / False / None = either)
Case = tuple[str, str, bytes, bool | None]


def cases() -> list[Case]:
    out: list[Case] = []
    for name, variant, body in _example_requests():
        old_operation = name.endswith(("-InsertCorrespondence", "-InsertCorrespondenceBasic"))
        out.append((name, variant, body, False if old_operation else True))  # the old one: spyne's fault
    for name, variant, body in _bad_input_requests():
        fast = None
        if name in (
            "bad-wrong-password",
            "bad-unknown-user",
            "bad-missing-credentials",
            "bad-missing-username",
        ):
            fast = False  # refused by the guard's early authentication: neither path
        out.append((name, variant, body, fast))
    for variant in ("basic", "ws"):
        v = variant
        letter = a.letter
        out += [
            (f"{v}-altinn-only", v, _bytes(envelope(v, f"{v}-altinn-only", letter(a.DIGIPOST))), True),
            (f"{v}-repeat", v, _bytes(envelope(v, f"{v}-altinn-only", letter(a.DIGIPOST))), True),
            (f"{v}-sdp-digipost", v, _bytes(envelope(v, f"{v}-sdp-dp", letter(a.DIGIPOST, a.sdp()))), True),
            (
                f"{v}-sdp-eboks",
                v,
                _bytes(envelope(v, f"{v}-sdp-eb", letter(a.EBOKS, a.sdp("ForwardOnly")))),
                True,
            ),
            (
                f"{v}-sdp-no-postbox",
                v,
                _bytes(envelope(v, f"{v}-sdp-np", letter(a.NO_POSTBOX, a.sdp()))),
                True,
            ),
            (
                f"{v}-sdp-not-registered",
                v,
                _bytes(
                    envelope(v, f"{v}-sdp-nr", letter(a.NOT_REGISTERED, a.sdp("ForwardOnly", backup=False)))
                ),
                True,
            ),
            (f"{v}-full-contract", v, _bytes(envelope(v, f"{v}-full", _full_correspondence())), True),
            (
                f"{v}-notifications-replies",
                v,
                _bytes(
                    envelope(
                        v,
                        f"{v}-notes",
                        letter(
                            a.DIGIPOST,
                            a.sdp("ForwardOnly", backup=False, SdpNotifications=SDP_NOTIFICATIONS),
                            Notifications={"Notification": [NOTIFICATION]},
                            ReplyOptions={
                                "ReplyOption": [{"URL": {"LinkText": "Svar", "LinkURL": "https://x.no"}}]
                            },
                        ),
                    )
                ),
                True,
            ),
            (
                f"{v}-node-soap-namespaces",
                v,
                _edit(v, f"{v}-node", letter(a.DIGIPOST, a.sdp()), _node_soap),
                True,
            ),
            (f"{v}-message-name", v, _edit(v, f"{v}-msgname", letter(a.DIGIPOST), _message_name(v)), None),
            (f"{v}-unknown-element", v, _edit(v, f"{v}-unknown", letter(a.DIGIPOST), _unknown_element), True),
            (f"{v}-nil-optional", v, _edit(v, f"{v}-nil", letter(a.DIGIPOST), _nil("MessageSummary")), True),
            (f"{v}-nil-required", v, _edit(v, f"{v}-nil-req", letter(a.DIGIPOST), _nil("Encrypted")), False),
            (f"{v}-xsi-type", v, _edit(v, f"{v}-xsitype", letter(a.DIGIPOST), _xsi_type), False),
            (f"{v}-comment", v, _edit(v, f"{v}-comment", letter(a.DIGIPOST), _comment), False),
            (
                f"{v}-bad-type",
                v,
                _edit(v, f"{v}-badtype", letter(a.DIGIPOST), _set_text("Encrypted", "kanskje")),
                False,
            ),
            (
                f"{v}-bad-date",
                v,
                _edit(v, f"{v}-baddate", letter(a.DIGIPOST), _set_text("VisibleDateTime", "i går")),
                False,
            ),
            (
                f"{v}-bad-base64",
                v,
                _edit(v, f"{v}-b64", letter(a.DIGIPOST), _set_text("Data", "@@@not base64@@@")),
                None,
            ),
            (
                f"{v}-bad-enum",
                v,
                _edit(v, f"{v}-enum", letter(a.DIGIPOST), _set_text("FunctionType", "Nope")),
                False,
            ),
            (
                f"{v}-missing-reference",
                v,
                _edit(v, f"{v}-noref", letter(a.DIGIPOST), _remove("ExternalShipmentReference")),
                False,
            ),
            (
                f"{v}-missing-correspondence",
                v,
                _edit(v, f"{v}-nocorr", letter(a.DIGIPOST), _remove("Correspondence")),
                False,
            ),
            (f"{v}-wrong-namespace", v, _edit(v, f"{v}-wrongns", letter(a.DIGIPOST), _wrong_namespace), None),
            (f"{v}-misordered", v, _edit(v, f"{v}-order", letter(a.DIGIPOST), _misordered), False),
            (
                f"{v}-other-owners-service",
                v,
                _bytes(
                    envelope(
                        v, f"{v}-other", letter(a.DIGIPOST), code="OTHER", owner=("10002", "other-password")
                    )
                ),
                True,
            ),
            (
                f"{v}-other-owner-demo-code",
                v,
                _bytes(envelope(v, f"{v}-other2", letter(a.DIGIPOST), owner=("10002", "other-password"))),
                True,
            ),
        ]
        for case_id, code, reference, change, _words in validation.INVALID:
            corr = letter(a.NO_POSTBOX)
            if change is not None:
                change(corr)
            ref = f"{v}-inv-{case_id}" if reference is None else reference
            out.append((f"{v}-validation-{case_id}", v, _bytes(envelope(v, ref, corr, code=code)), True))
        for case_id, options in validation.VALID_EDGES:
            corr = letter(a.DIGIPOST, a.sdp("CopyAltinn", backup=None, **options))
            out.append((f"{v}-edge-{case_id}", v, _bytes(envelope(v, f"{v}-edge-{case_id}", corr)), True))
    out.append(("ws-digest-addressing", "ws", _ws_digest("ws-digest-1", a.letter(a.DIGIPOST), True), True))
    out.append(
        ("ws-digest-no-addressing", "ws", _ws_digest("ws-digest-2", a.letter(a.DIGIPOST), False), True)
    )
    out.append(("ws-digest-validation-failed", "ws", _ws_digest("", a.letter(a.DIGIPOST), True), True))
    return out


# ------------------------------------------------------------------------------------------ comparing

_GUID = re.compile(rb"(ErrorGuid>)[^<]*(<)")
_TIMES = re.compile(rb"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?")
_DOTTED = re.compile(rb"\d\d\.\d\d\.\d{4} \d\d:\d\d:\d\d")


def normalised(body: bytes) -> bytes:
    try:
        canon = etree.tostring(etree.fromstring(body), method="c14n")
    except etree.XMLSyntaxError:
        canon = body
    canon = _GUID.sub(rb"\1GUID\2", canon)
    canon = _TIMES.sub(b"TIME", canon)
    return _DOTTED.sub(b"TIME", canon)


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")  # generated ids


def rows(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    con = sqlite3.connect(db)
    try:
        tables = [
            r[0]
            for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            if r[0] not in ("alembic_version", "sqlite_sequence", "nonces", "login_failures", "system_users")
        ]
        out: dict[str, list[tuple[Any, ...]]] = {}
        for table in tables:
            found = []
            for row in con.execute(f'SELECT * FROM "{table}"'):  # noqa: S608 (names from the schema)
                found.append(
                    tuple(
                        _UUID.sub("UUID", normalised(v.encode()).decode()) if isinstance(v, str) else v
                        for v in row
                    )
                )
            out[table] = sorted(found, key=repr)
        return out
    finally:
        con.close()


def _run(
    apps: Iterable[App], all_cases: list[Case], fast_answers: set[tuple[str, str]] | None = None
) -> list[str]:
    """Differences between the two apps' answers; ``fast_answers`` collects (variant, HTTP status) of
    the answers the fast path gave."""
    fast_app, spyne_app = apps
    problems: list[str] = []
    for name, variant, body, must_be_fast in all_cases:
        f_status, f_type, f_body, f_fast = fast_app.post(variant, body)
        s_status, s_type, s_body, s_fast = spyne_app.post(variant, body)
        assert not s_fast, name
        if (f_status, f_type) != (s_status, s_type):
            problems.append(f"{name}: {f_status} {f_type} (fast) != {s_status} {s_type} (spyne)")
        elif normalised(f_body) != normalised(s_body):
            problems.append(f"{name}: bodies differ\n  fast:  {f_body[:1500]!r}\n  spyne: {s_body[:1500]!r}")
        if f_fast and fast_answers is not None:
            fast_answers.add((variant, f_status[:3]))
        if must_be_fast is not None and f_fast != must_be_fast:
            problems.append(f"{name}: {'took' if f_fast else 'did not take'} the fast path")
    return problems


def test_fast_path_answers_as_spyne_does(tmp_path: Path) -> None:
    all_cases = cases()
    assert len(all_cases) > 150
    fast, spyne = App(tmp_path, fast=True), App(tmp_path, fast=False)
    fast_answers: set[tuple[str, str]] = set()
    problems = _run((fast, spyne), all_cases, fast_answers)
    assert not problems, "\n".join(problems)
    # The fast path wrote receipts and faults (another owner's service) on both endpoints.
    assert fast_answers == {("basic", "200"), ("basic", "500"), ("ws", "200"), ("ws", "500")}, fast_answers
    # The same database effect: the same rows (times aside), and something was stored.
    fast_rows, spyne_rows = rows(fast.db), rows(spyne.db)
    assert fast_rows == spyne_rows
    assert len(fast_rows["receipts"]) > 20
    # KRR was asked the same questions.
    assert fast.registry.calls == spyne.registry.calls and fast.registry.calls


def test_fast_path_answers_krr_unavailable_as_spyne_does(tmp_path: Path) -> None:
    (tmp_path / "f").mkdir()
    (tmp_path / "s").mkdir()
    fast, spyne = (
        App(tmp_path / "f", fast=True, krr_fails=True),
        App(tmp_path / "s", fast=False, krr_fails=True),
    )
    all_cases: list[Case] = [
        (f"{v}-krr-down", v, _bytes(envelope(v, f"{v}-krr", a.letter(a.DIGIPOST, a.sdp()))), True)
        for v in ("basic", "ws")
    ]
    problems = _run((fast, spyne), all_cases)
    assert not problems, "\n".join(problems)
    status, _, body, took_fast = fast.post("basic", all_cases[0][2])
    assert status.startswith("500") and b"KRR" in body and took_fast, body[:600]


@pytest.mark.parametrize("variant", ["basic", "ws"])
def test_reader_builds_spynes_objects(variant: str, tmp_path: Path) -> None:
    """The fast reader's model instances equal spyne's deserialiser's, field by field."""
    from service.entrypoints.soap.fast_insert import FastInsert

    app = App(tmp_path, fast=True).app
    endpoint = app.endpoints[PATHS[variant]].app  # Shedding -> RequestGuard -> FastInsert
    fast = endpoint.app.app
    assert isinstance(fast, FastInsert)
    env = envelope(variant, "r-1", _full_correspondence())
    wrapper = _operation(env)
    op, in_message = fast.ops[wrapper.tag]
    # each reader gets its own copy: both drop an attachment's base64 text once decoded
    theirs = fast.in_protocol.from_element(None, in_message, copy.deepcopy(wrapper))
    mine = fast.reader.read(in_message, wrapper)

    def plain(v: Any) -> Any:
        if hasattr(v, "__dict__") and not isinstance(v, type):
            return (type(v).__name__, {k: plain(x) for k, x in sorted(vars(v).items())})
        if isinstance(v, list | tuple):
            return [plain(x) for x in v]
        return v

    assert plain(mine) == plain(theirs)
    assert mine.Correspondence.Content.Attachments.BinaryAttachments.BinaryAttachmentV2[
        0
    ].Data  # read something
    # ... and the tree, which lives until the answer is written, no longer holds the base64 text
    data = [e for e in wrapper.iter() if isinstance(e.tag, str) and e.tag.endswith("}Data")]
    assert data and all(e.text is None for e in data)

"""The e-mail and SMS adapters (clients/smtp.py, clients/sms.py) against the notification simulators
over real sockets: the aiosmtpd catcher (also with STARTTLS and login) and the SMS-gateway route."""

from __future__ import annotations

import datetime as dt
import socket
import socketserver
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from clients.sms import HttpSmsGateway
from clients.smtp import SmtpEmailSender
from service.domain.ports import ChannelRefused, ChannelUnavailable, EmailMessage, SmsMessage
from simulators.notify import NotifySimState, make_notify_app, start_smtp_catcher
from tests.support.harness import free_port

NO_SLEEP = {"sleep": lambda _s: None}


# -- SMTP ----------------------------------------------------------------------------------------
@pytest.fixture
def smtp() -> Iterator[tuple[NotifySimState, int]]:
    state, port = NotifySimState(), free_port()
    controller = start_smtp_catcher("127.0.0.1", port, state)
    try:
        yield state, port
    finally:
        controller.stop()


def sender(port: int, **kw: Any) -> SmtpEmailSender:
    return SmtpEmailSender(
        "127.0.0.1", port, sender="ikke-svar@etat.example", timeout=5, **{**NO_SLEEP, **kw}
    )


def test_email_arrives_with_our_headers(smtp: tuple[NotifySimState, int]) -> None:
    state, port = smtp
    sender(port).send_email(
        EmailMessage("ola@example.no", "Nytt brev", "Hei Ola\n\nLes brevet.", None, "abc-123")
    )
    (m,) = state.emails
    assert (m.to, m.subject, m.mail_from) == ("ola@example.no", "Nytt brev", "ikke-svar@etat.example")
    assert m.rcpt_to == ["ola@example.no"] and m.from_header == "ikke-svar@etat.example"
    assert m.message_id == "<abc-123@etat.example>"  # the same on every attempt
    assert m.body.strip() == "Hei Ola\n\nLes brevet."


def test_from_address_is_the_visible_sender_envelope_stays_ours(smtp: tuple[NotifySimState, int]) -> None:
    state, port = smtp
    sender(port).send_email(EmailMessage("ola@example.no", "S", "B", "post@kommune.example", "x"))
    (m,) = state.emails
    assert m.from_header == "post@kommune.example" and m.mail_from == "ikke-svar@etat.example"


def test_temporary_refusal_retried_within_the_call(smtp: tuple[NotifySimState, int]) -> None:
    state, port = smtp
    state.smtp_refuse_remaining = 1
    sender(port, attempts=2).send_email(EmailMessage("a@b.no", "S", "B", None, "m1"))
    assert state.smtp_refused == 1 and len(state.emails) == 1


def test_temporary_refusals_beyond_the_attempts_are_unavailable(smtp: tuple[NotifySimState, int]) -> None:
    state, port = smtp
    state.smtp_refuse_remaining = 5
    with pytest.raises(ChannelUnavailable, match="451"):
        sender(port, attempts=3).send_email(EmailMessage("a@b.no", "S", "B", None, "m2"))
    assert state.smtp_refused == 3 and state.emails == []


def test_permanent_refusal(smtp: tuple[NotifySimState, int]) -> None:
    state, port = smtp
    state.smtp_reject_recipients = {"finnes.ikke@example.no"}
    with pytest.raises(ChannelRefused, match="550"):
        sender(port, attempts=3).send_email(EmailMessage("finnes.ikke@example.no", "S", "B", None, "m3"))
    assert state.emails == []


def test_nothing_listening_is_unavailable() -> None:
    with pytest.raises(ChannelUnavailable):
        sender(free_port(), attempts=2).send_email(EmailMessage("a@b.no", "S", "B", None, "m4"))


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    import ipaddress

    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp / "cert.pem", tmp / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


@pytest.fixture
def smtp_tls(tmp_path: Path) -> Iterator[tuple[NotifySimState, int, Path]]:
    """A catcher that requires STARTTLS and a login (user ``etat``, password ``hemmelig``)."""
    cert_file, key_file = _self_signed(tmp_path)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert_file, key_file)

    def authenticator(_server: Any, _session: Any, _env: Any, _mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"etat", b"hemmelig")
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535

    state, port = NotifySimState(), free_port()
    controller = start_smtp_catcher(
        "127.0.0.1",
        port,
        state,
        tls_context=server_ctx,
        require_starttls=True,
        auth_required=True,
        auth_require_tls=True,
        authenticator=authenticator,
        auth_exclude_mechanism=["LOGIN"],  # smtplib then uses PLAIN (one round trip)
    )
    try:
        yield state, port, cert_file
    finally:
        controller.stop()


def test_starttls_and_login(smtp_tls: tuple[NotifySimState, int, Path]) -> None:
    state, port, cert = smtp_tls
    ctx = ssl.create_default_context(cafile=str(cert))
    sender(port, starttls=True, username="etat", password="hemmelig", ssl_context=ctx).send_email(
        EmailMessage("ola@example.no", "Over TLS", "B", None, "t1")
    )
    assert [m.subject for m in state.emails] == ["Over TLS"]


@pytest.mark.parametrize(
    "kw,error",
    [
        # the server offers AUTH only after STARTTLS: a configuration problem, retried (bounded)
        ({"starttls": False, "username": "etat", "password": "hemmelig"}, ChannelUnavailable),
        ({"starttls": True, "username": "etat", "password": "feil"}, ChannelRefused),  # 535
        ({"starttls": True}, ChannelRefused),  # no login: 530
    ],
)
def test_tls_or_login_missing_is_not_sent(
    smtp_tls: tuple[NotifySimState, int, Path], kw: dict[str, Any], error: type[Exception]
) -> None:
    state, port, cert = smtp_tls
    ctx = ssl.create_default_context(cafile=str(cert))
    with pytest.raises(error):
        sender(port, ssl_context=ctx, **kw).send_email(EmailMessage("ola@example.no", "S", "B", None, "t2"))
    assert state.emails == []


def test_untrusted_certificate_is_not_sent(smtp_tls: tuple[NotifySimState, int, Path]) -> None:
    state, port, _ = smtp_tls
    with pytest.raises(ChannelUnavailable):
        sender(port, starttls=True, username="etat", password="hemmelig", attempts=1).send_email(
            EmailMessage("ola@example.no", "S", "B", None, "t3")
        )
    assert state.emails == []


# -- SMS gateway ---------------------------------------------------------------------------------
class _Server(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def gateway() -> Iterator[tuple[NotifySimState, str]]:
    state = NotifySimState()
    server = make_server("127.0.0.1", 0, make_notify_app(state), _Server, _Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield state, f"http://127.0.0.1:{server.server_port}/sms"
    finally:
        server.shutdown()
        server.server_close()


def test_sms_request_shape_with_bearer_token(gateway: tuple[NotifySimState, str]) -> None:
    state, url = gateway
    HttpSmsGateway(url, sender="Etaten", token="t0ken", **NO_SLEEP).send_sms(
        SmsMessage("+4799000001", "Hei", None, "r1")
    )
    (s,) = state.sms
    assert (s.to, s.sender, s.text, s.reference, s.authorization) == (
        "+4799000001",
        "Etaten",
        "Hei",
        "r1",
        "bearer",
    )


def test_sms_basic_auth(gateway: tuple[NotifySimState, str]) -> None:
    state, url = gateway
    HttpSmsGateway(url, sender="E", username="etat", password="pw", **NO_SLEEP).send_sms(
        SmsMessage("+47", "x", None, "r2")
    )
    assert state.sms[0].authorization == "basic:etat"


def test_sms_gateway_errors_retried_within_the_call(gateway: tuple[NotifySimState, str]) -> None:
    state, url = gateway
    state.sms_fail_remaining, state.sms_fail_status = 2, 503
    HttpSmsGateway(url, sender="E", attempts=3, **NO_SLEEP).send_sms(SmsMessage("+47", "x", None, "r3"))
    assert (state.sms_requests, state.sms_failed, len(state.sms)) == (3, 2, 1)


@pytest.mark.parametrize("status", [500, 503, 429])
def test_sms_gateway_errors_beyond_the_attempts_are_unavailable(
    gateway: tuple[NotifySimState, str], status: int
) -> None:
    state, url = gateway
    state.sms_fail_remaining, state.sms_fail_status = -1, status
    with pytest.raises(ChannelUnavailable, match=str(status)):
        HttpSmsGateway(url, sender="E", attempts=2, **NO_SLEEP).send_sms(SmsMessage("+47", "x", None, "r4"))
    assert state.sms_requests == 2 and state.sms == []


@pytest.mark.parametrize("status", [400, 401, 403])
def test_sms_client_errors_are_refused_at_once(gateway: tuple[NotifySimState, str], status: int) -> None:
    state, url = gateway
    state.sms_fail_remaining, state.sms_fail_status = -1, status
    with pytest.raises(ChannelRefused, match=str(status)):
        HttpSmsGateway(url, sender="E", attempts=3, **NO_SLEEP).send_sms(SmsMessage("+47", "x", None, "r5"))
    assert state.sms_requests == 1


def test_sms_gateway_that_never_answers_times_out() -> None:
    with socket.socket() as silent:  # accepts connections (backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/sms"
        gw = HttpSmsGateway(url, sender="E", connect_timeout=0.5, read_timeout=0.3, attempts=2, **NO_SLEEP)
        with pytest.raises(ChannelUnavailable, match="timed out"):
            gw.send_sms(SmsMessage("+47", "x", None, "r6"))

"""The inbox web application (Flask), mounted by the service at ``/inbox/`` (soap/wsgi.py ``mounts``).

Routes (all under ``/inbox``): ``/`` the letter list (``?for=<reportee>``); ``/login`` (GET: the
sign-in page; POST: the demo form, or the start of the ID-porten flow); ``/login/callback`` (ID-porten
answers here); ``/logout`` (POST); ``/lang`` (POST); ``/letters/<id>`` (GET: shows the letter, records
nothing); ``/letters/<id>/open`` (POST: records ``Read`` once); ``/letters/<id>/confirm`` (POST);
``/letters/<id>/attachments/<id>`` (streamed). Every POST needs the session's CSRF token (Flask-WTF's
CSRFProtect); a letter outside the signed-in person's reportees is a 404.

Sessions: Flask's signed cookie holds a random session id, the CSRF secret and, during an ID-porten
flow, Authlib's state/nonce/PKCE verifier: never the fødselsnummer. Who is signed in lives in the
database (``inbox_sessions``): sign-out revokes the row, whatever copies of the cookie exist; the
row names the sign-in mode, and the cookie's signature is salted with it, so a demo session is
refused by an ID-porten inbox. Whom the person may act for is asked of the directory on each request.
Behind https (``PUBLIC_URL`` https://) the cookies are ``__Host-`` prefixed (Secure, Path=/); on
plain-http localhost (``make run``, the tests) browsers refuse ``__Host-`` and Secure cookies over
http, so they are plain ``inbox_session``/``inbox_lang`` with Path=/inbox.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

import nh3
from flask import Flask, g, redirect, render_template, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError, CSRFProtect, generate_csrf
from markupsafe import Markup, escape
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from ...domain.security_level import SecurityLevel
from ...service_layer import inbox as uc
from ...service_layer.unit_of_work import UnitOfWork
from ..request_log import STREAMED
from . import texts
from .identity import DemoSignIn, Identity, ReporteeDirectory, SignIn, identity_for
from .idporten import IdPortenSignIn, IdPortenUnavailable, SignInFailed

log = logging.getLogger(__name__)
PREFIX = "/inbox"
OSLO = ZoneInfo("Europe/Oslo")
MAX_FORM_BYTES = 64 * 1024
_SAFE_NEXT = re.compile(r"^/inbox/[A-Za-z0-9\-._~/?=&%]*$")
SECURITY_HEADERS = [
    (
        "Content-Security-Policy",
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self' {idp}; "
        "frame-ancestors 'none'; base-uri 'none'",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    # same-origin: no Referer to other sites, but our own forms send one, which CSRFProtect's https
    # check (WTF_CSRF_SSL_STRICT) requires.
    ("Referrer-Policy", "same-origin"),
    ("Cache-Control", "no-store"),
]


def _when(value: datetime | None) -> str:
    return value.astimezone(OSLO).strftime("%d.%m.%Y %H:%M") if value else ""


def _day(value: datetime | None) -> str:
    return value.astimezone(OSLO).strftime("%d.%m.%Y") if value else ""


def _foreign_url(value: str, own_host: str) -> bool:
    """An absolute http(s) or mailto URL that does not point into our own origin."""
    if value.lower().startswith("mailto:"):
        return True
    parts = urlsplit(value.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return False  # relative, protocol-relative without host, or another scheme
    return parts.hostname.lower() != own_host.lower()


def sanitise_body(body: str | None, own_host: str = "") -> Markup:
    """The letter body for display: HTML through nh3 (an allow-list sanitiser), plain text escaped.

    Images are kept only as ``data:`` URLs and links only to other sites: a letter must never make
    the citizen's browser request a URL of our own origin (an ``<img src="/inbox/...">`` would do so
    with the citizen's cookies)."""
    if not body:
        return Markup("")
    if "<" not in body:
        return Markup('<div class="plain">') + escape(body) + Markup("</div>")

    def keep(element: str, attribute: str, value: str) -> str | None:
        if element == "img" and attribute in ("src", "srcset"):
            return value if attribute == "src" and value.strip().lower().startswith("data:image/") else None
        if attribute in ("href", "src", "cite", "longdesc", "action", "background", "poster"):
            return value if _foreign_url(value, own_host) else None
        return value

    cleaned = nh3.clean(
        body,
        link_rel="noopener noreferrer nofollow",
        attribute_filter=keep,
        url_schemes=set(nh3.ALLOWED_URL_SCHEMES) | {"data"},  # data: only where keep() allows it
    )
    return Markup(cleaned)  # noqa: S704 - sanitised


def _content_disposition(file_name: str) -> str:
    ascii_name = re.sub(r"[^A-Za-z0-9._ -]", "_", file_name) or "vedlegg"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(file_name, safe='')}"


def safe_next(value: str | None) -> str:
    """A return address inside the inbox (no other site, no header injection), else the list."""
    if value and _SAFE_NEXT.match(value) and "//" not in value:
        return value
    return PREFIX + "/"


class _ModeBoundSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie session, its signature salted with the sign-in mode."""

    def __init__(self, mode: str) -> None:
        self.salt = f"innbyggerpost-inbox-session/{mode}"


def create_app(
    settings: Any,
    uow_factory: Callable[[], UnitOfWork],
    sign_in: SignIn | None,
    directory: ReporteeDirectory,
    secret_key: bytes,
) -> Flask:
    """The inbox; ``sign_in`` None: ID-porten from the settings."""
    https = settings.public_url.startswith("https://")
    app = Flask(__name__, template_folder=str(Path(__file__).with_name("templates")))
    if sign_in is None:
        sign_in = IdPortenSignIn(app, settings)
    app.config.update(
        SECRET_KEY=secret_key,
        SESSION_COOKIE_NAME="__Host-inbox_session" if https else "inbox_session",
        SESSION_COOKIE_PATH="/" if https else PREFIX,
        SESSION_COOKIE_SECURE=https,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",  # the ID-porten callback is a top-level GET from another site
        PERMANENT_SESSION_LIFETIME=timedelta(seconds=settings.inbox_session_seconds),
        MAX_CONTENT_LENGTH=MAX_FORM_BYTES,
        WTF_CSRF_FIELD_NAME="csrf",
        WTF_CSRF_TIME_LIMIT=None,  # valid as long as the session
        PREFERRED_URL_SCHEME="https" if https else "http",
    )
    mode = sign_in.mode
    app.session_interface = _ModeBoundSessions(mode)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.jinja_env.filters["when"] = _when
    app.jinja_env.filters["day"] = _day
    CSRFProtect(app)
    lang_cookie = "__Host-inbox_lang" if https else "inbox_lang"
    cookie_path = "/" if https else PREFIX
    own_host = urlsplit(settings.public_url).hostname or ""
    lifetime = settings.inbox_session_seconds
    idporten = sign_in if isinstance(sign_in, IdPortenSignIn) else None
    idp_origin = ""
    if idporten is not None:
        parts = urlsplit(idporten.issuer)
        idp_origin = f"{parts.scheme}://{parts.netloc}"
    headers = [(k, v.format(idp=idp_origin).replace(" ;", ";")) for k, v in SECURITY_HEADERS]

    # -- per request ----------------------------------------------------------------------------
    @app.before_request
    def _who() -> None:
        g.identity = None
        lang = request.cookies.get(lang_cookie, texts.DEFAULT)
        g.lang = lang if lang in texts.LANGUAGES else texts.DEFAULT
        sid = session.get("sid")
        if isinstance(sid, str) and sid:
            row = uc.session(uow_factory, sid, sign_in.mode)
            if row is None:
                session.pop("sid", None)  # signed out, expired or another mode's: anonymous now
            else:
                g.identity = identity_for(row.pid, directory, row.security_level)

    @app.after_request
    def _headers(response: Response) -> Response:
        for k, v in headers:
            response.headers.setdefault(k, v)
        return response

    @app.context_processor
    def _page_values() -> dict[str, Any]:
        lang = g.get("lang", texts.DEFAULT)
        here = request.full_path.rstrip("?") if request.method == "GET" else PREFIX + "/"
        return {
            "t": lambda key, **kw: texts.text(lang, key).format(**kw) if kw else texts.text(lang, key),
            "lang": lang,
            "other_lang": "en" if lang == "nb" else "nb",
            "here": safe_next(here),
            "csrf": generate_csrf(),
            "identity": g.get("identity"),
            "demo": sign_in.demo,
            "prefix": PREFIX,
        }

    def page(template: str, status: int = 200, **values: Any) -> Response:
        response = app.make_response(render_template(template, **values))
        response.status_code = status
        return response

    def not_found() -> Response:
        return page("error.html", 404, title="not_found", message="not_found_text")

    def signed_in() -> Identity | None:
        identity: Identity | None = g.get("identity")
        return identity

    def sign_in_as(pid: str, level: SecurityLevel) -> Response:
        old = session.get("sid")
        if isinstance(old, str) and old:
            uc.end_session(uow_factory, old)
        target = safe_next(session.get("next"))
        session.clear()  # a new session id and a new CSRF secret with the new identity
        session.permanent = True
        session["sid"] = uc.start_session(uow_factory, pid, sign_in.mode, level, lifetime)
        log.info("inbox: signed in (%s, level %d)", sign_in.label, int(level))
        return redirect(target, 303)

    @app.errorhandler(CSRFError)
    def _csrf_refused(exc: CSRFError) -> Response:
        log.warning("inbox: POST %s refused (%s)", request.path, exc.description)
        return page("error.html", 403, title="forbidden", message="forbidden_text")

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        code = exc.code or 500
        if code == 404:
            return not_found()
        if code == 405:
            return page("error.html", 405, title="not_allowed", message="not_found_text")
        return page("error.html", code if code < 500 else 400, title="bad_request", message="bad_request")

    # -- routes ---------------------------------------------------------------------------------
    @app.get(PREFIX)
    def _bare() -> Response:
        return redirect(PREFIX + "/", 303)

    @app.get(PREFIX + "/login")
    def login_page() -> Response:
        if isinstance(sign_in, DemoSignIn):
            return page(
                "login.html",
                persons=sign_in.directory.persons,
                organisations=sign_in.directory.organisations,
            )
        if idporten is not None:
            return page("login.html", idporten=True)
        return page("login.html", 503, persons=[], organisations=[], not_configured=True)

    @app.post(PREFIX + "/login")
    def login() -> Response:
        if isinstance(sign_in, DemoSignIn):
            pid = request.form.get("pid", "")
            if not sign_in.known(pid):
                return page(
                    "login.html",
                    403,
                    persons=sign_in.directory.persons,
                    organisations=sign_in.directory.organisations,
                    failed=True,
                )
            return sign_in_as(pid, sign_in.level)
        if idporten is not None:
            try:
                level = SecurityLevel.parse(request.form.get("level") or "3")
            except ValueError:
                level = SecurityLevel.SUBSTANTIAL
            session["next"] = safe_next(request.form.get("next"))
            again = signed_in() is not None
            try:
                return idporten.authorize(level, again, g.lang)
            except IdPortenUnavailable as exc:
                log.warning("inbox: ID-porten unavailable: %s", str(exc)[:300])
                return page("login.html", 503, idporten=True, failed=True)
        return page("login.html", 403, persons=[], organisations=[], not_configured=True)

    @app.get(PREFIX + "/login/callback")
    def login_callback() -> Response:
        if idporten is None:
            return not_found()
        try:
            done = idporten.finish()
        except SignInFailed as exc:
            log.warning("inbox: ID-porten sign-in refused: %s", str(exc)[:300])
            return page("login.html", 403, idporten=True, failed=True)
        return sign_in_as(done.pid, done.level)

    @app.post(PREFIX + "/logout")
    def logout() -> Response:
        sid = session.get("sid")
        if isinstance(sid, str) and sid:
            uc.end_session(uow_factory, sid)
        session.clear()
        return redirect(PREFIX + "/login", 303)

    @app.post(PREFIX + "/lang")
    def switch_language() -> Response:
        to = request.form.get("to", texts.DEFAULT)
        response = redirect(safe_next(request.form.get("next")), 303)
        if to in texts.LANGUAGES:
            response.set_cookie(
                lang_cookie,
                to,
                max_age=365 * 86400,
                path=cookie_path,
                secure=https,
                httponly=True,
                samesite="Lax",
            )
        return response

    @app.get(PREFIX + "/")
    def letter_list() -> Response:
        identity = signed_in()
        if identity is None:
            return redirect(PREFIX + "/login", 303)
        chosen = request.args.get("for", identity.pid)
        if chosen not in identity.reportee_ids:
            return not_found()
        letters = uc.list_letters(uow_factory, [chosen])
        return page("list.html", letters=letters, chosen=chosen)

    @app.get(PREFIX + "/letters/<int:letter_id>")
    def letter(letter_id: int) -> Response:
        identity = signed_in()
        if identity is None:
            return redirect(PREFIX + "/login", 303)
        found = uc.view_letter(uow_factory, identity.reportee_ids, letter_id)
        if found is None:
            return not_found()
        allowed = identity.level.allows(found.summary.security_level)
        show = allowed and found.read is not None
        body = sanitise_body(found.body, own_host) if show else Markup("")
        return page("letter.html", letter=found, body=body, allowed=allowed, show=show)

    def letter_action(letter_id: int, action: Callable[..., bool | None]) -> Response:
        """Open or Confirm (POST, CSRF-checked), then back to the letter; 404 outside this inbox."""
        identity = signed_in()
        if identity is None:
            return not_found()
        if action(uow_factory, identity.reportee_ids, letter_id, identity.level) is None:
            return not_found()
        return redirect(f"{PREFIX}/letters/{letter_id}", 303)

    @app.post(PREFIX + "/letters/<int:letter_id>/open")
    def open_letter(letter_id: int) -> Response:
        return letter_action(letter_id, uc.open_letter)

    @app.post(PREFIX + "/letters/<int:letter_id>/confirm")
    def confirm(letter_id: int) -> Response:
        return letter_action(letter_id, uc.confirm_letter)

    @app.get(PREFIX + "/letters/<int:letter_id>/attachments/<int:attachment_id>")
    def attachment(letter_id: int, attachment_id: int) -> Response:
        identity = signed_in()
        if identity is None:
            return not_found()
        found = uc.attachment(uow_factory, identity.reportee_ids, letter_id, attachment_id, identity.level)
        if found is None:
            return not_found()
        request.environ[STREAMED] = True  # the request log passes it on piece by piece
        response = Response(found.chunks, content_type=found.content_type, direct_passthrough=True)
        response.headers["Content-Length"] = str(found.size)
        response.headers["Content-Disposition"] = _content_disposition(found.file_name)
        return response

    return app

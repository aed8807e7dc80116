"""The inbox web application (WSGI), mounted by the service at ``/inbox/``.

Routes (all under ``/inbox``): ``/`` the letter list (``?for=<reportee>``), ``/login`` (GET: the
sign-in page, POST: the demo sign-in form), ``/logout`` (POST), ``/lang?to=nb|en``,
``/letters/<id>`` (opening records ``Read`` once), ``/letters/<id>/confirm`` (POST),
``/letters/<id>/attachments/<id>``. Every POST needs the session's CSRF token; a letter outside the
signed-in person's reportees is a 404.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import nh3
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from ...service_layer import inbox as uc
from ...service_layer.unit_of_work import UnitOfWork
from . import texts
from .http import BadRequest, Request, Response, redirect
from .identity import Identity, ReporteeDirectory, SignIn, identity_for
from .session import COOKIE, Session, SessionCodec

log = logging.getLogger(__name__)
PREFIX = "/inbox"
LANG_COOKIE = "inbox_lang"
OSLO = ZoneInfo("Europe/Oslo")
_LETTER = re.compile(r"^/letters/(\d{1,12})(/confirm|/attachments/(\d{1,12}))?$")
SECURITY_HEADERS = [
    (
        "Content-Security-Policy",
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Cache-Control", "no-store"),
]


def _when(value: datetime | None) -> str:
    return value.astimezone(OSLO).strftime("%d.%m.%Y %H:%M") if value else ""


def _day(value: datetime | None) -> str:
    return value.astimezone(OSLO).strftime("%d.%m.%Y") if value else ""


def sanitise_body(body: str | None) -> Markup:
    """The letter body for display: HTML through nh3 (an allow-list sanitiser), plain text escaped."""
    if not body:
        return Markup("")
    if "<" not in body:
        return Markup('<div class="plain">') + escape(body) + Markup("</div>")
    return Markup(nh3.clean(body, link_rel="noopener noreferrer nofollow"))  # noqa: S704 - sanitised


def _content_disposition(file_name: str) -> str:
    ascii_name = re.sub(r"[^A-Za-z0-9._ -]", "_", file_name) or "vedlegg"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(file_name, safe='')}"


class InboxApp:
    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        sign_in: SignIn,
        directory: ReporteeDirectory,
        codec: SessionCodec,
        secure_cookies: bool = False,
    ) -> None:
        self.uow_factory = uow_factory
        self.sign_in = sign_in
        self.directory = directory
        self.codec = codec
        self.secure_cookies = secure_cookies
        self.env = Environment(
            loader=FileSystemLoader(str(Path(__file__).with_name("templates"))),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["when"] = _when
        self.env.filters["day"] = _day

    # -- WSGI -------------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        session = self.codec.decode(request.cookies.get(COOKIE))
        fresh = session is None
        if session is None:
            session = Session(dirty=True)
        lang = request.cookies.get(LANG_COOKIE, texts.DEFAULT)
        if lang not in texts.LANGUAGES:
            lang = texts.DEFAULT
        ctx = _Ctx(self, request, session, lang)
        try:
            response = self._route(ctx)
        except BadRequest:
            response = ctx.page("error.html", "400 Bad Request", title="bad_request", message="bad_request")
        except Exception:
            log.exception("inbox request failed")
            raise
        if session.dirty or fresh:
            response.set_cookie(
                COOKIE,
                self.codec.encode(session),
                path=PREFIX,
                max_age=self.codec.max_age,
                secure=self.secure_cookies or request.secure,
            )
        response.headers.extend(SECURITY_HEADERS)
        return response(start_response)

    def _route(self, ctx: _Ctx) -> Response:
        r = ctx.request
        path = r.path[len(PREFIX) :]
        if path == "":
            return redirect(PREFIX + "/")
        if r.method == "POST" and not ctx.session.check_csrf(r.form.get("csrf")):
            log.warning("inbox: POST %s refused (CSRF token missing or wrong)", r.path)
            return ctx.page("error.html", "403 Forbidden", title="forbidden", message="forbidden_text")
        if path == "/login":
            return self._login(ctx)
        if path == "/lang" and r.method == "GET":
            return self._lang(ctx)
        if path == "/logout" and r.method == "POST":
            ctx.session.identity = None
            ctx.session.csrf = Session().csrf
            ctx.session.dirty = True
            return redirect(PREFIX + "/login")
        identity = ctx.session.identity
        if identity is None:
            return redirect(PREFIX + "/login") if r.method == "GET" else ctx.not_found()
        if path == "/" and r.method == "GET":
            return self._list(ctx, identity)
        m = _LETTER.match(path)
        if m is None:
            return ctx.not_found()
        letter_id = int(m.group(1))
        if m.group(2) is None and r.method == "GET":
            return self._letter(ctx, identity, letter_id)
        if m.group(2) == "/confirm" and r.method == "POST":
            done = uc.confirm_letter(self.uow_factory, identity.reportee_ids, letter_id)
            if done is None:
                return ctx.not_found()
            return redirect(f"{PREFIX}/letters/{letter_id}")
        if m.group(3) is not None and r.method == "GET":
            return self._attachment(ctx, identity, letter_id, int(m.group(3)))
        return ctx.not_found()

    # -- pages ------------------------------------------------------------------------------------
    def _login(self, ctx: _Ctx) -> Response:
        if ctx.request.method == "GET":
            return self.sign_in.start(ctx.request, ctx.render)
        pid = self.sign_in.finish(ctx.request)
        if pid is None:
            response = self.sign_in.start(ctx.request, lambda name, **kw: ctx.render(name, failed=True, **kw))
            response.status = "403 Forbidden"
            return response
        ctx.session.identity = identity_for(pid, self.directory)
        ctx.session.csrf = Session().csrf  # a new token with the new identity
        ctx.session.dirty = True
        log.info("inbox: signed in (%s)", self.sign_in.label)
        return redirect(PREFIX + "/")

    def _lang(self, ctx: _Ctx) -> Response:
        to = ctx.request.query.get("to", texts.DEFAULT)
        target = ctx.request.query.get("next", PREFIX + "/")
        if not target.startswith(PREFIX + "/") or "//" in target or "\\" in target:
            target = PREFIX + "/"
        response = redirect(target)
        if to in texts.LANGUAGES:
            response.set_cookie(
                LANG_COOKIE, to, path=PREFIX, max_age=365 * 86400, secure=self.secure_cookies, http_only=True
            )
        return response

    def _list(self, ctx: _Ctx, identity: Identity) -> Response:
        chosen = ctx.request.query.get("for", identity.pid)
        if chosen not in identity.reportee_ids:
            return ctx.not_found()
        letters = uc.list_letters(self.uow_factory, [chosen])
        return ctx.render("list.html", letters=letters, chosen=chosen)

    def _letter(self, ctx: _Ctx, identity: Identity, letter_id: int) -> Response:
        letter = uc.open_letter(self.uow_factory, identity.reportee_ids, letter_id)
        if letter is None:
            return ctx.not_found()
        return ctx.render("letter.html", letter=letter, body=sanitise_body(letter.body))

    def _attachment(self, ctx: _Ctx, identity: Identity, letter_id: int, attachment_id: int) -> Response:
        found = uc.attachment(self.uow_factory, identity.reportee_ids, letter_id, attachment_id)
        if found is None:
            return ctx.not_found()
        return Response(
            found.data,
            content_type=found.content_type,
            headers=[("Content-Disposition", _content_disposition(found.file_name))],
        )


class _Ctx:
    """One request: its session, language and page rendering."""

    def __init__(self, app: InboxApp, request: Request, session: Session, lang: str) -> None:
        self.app, self.request, self.session, self.lang = app, request, session, lang

    def render(self, template: str, **values: Any) -> Response:
        identity = self.session.identity
        page = self.app.env.get_template(template).render(
            t=lambda key: texts.text(self.lang, key),
            lang=self.lang,
            other_lang="en" if self.lang == "nb" else "nb",
            here=self._here(),
            csrf=self.session.csrf,
            identity=identity,
            demo=self.app.sign_in.demo,
            prefix=PREFIX,
            **values,
        )
        return Response(page.encode("utf-8"))

    def _here(self) -> str:
        query = self.request.environ.get("QUERY_STRING", "")
        return self.request.path + ("?" + query if query else "")

    def page(self, template: str, status: str, **values: Any) -> Response:
        response = self.render(template, **values)
        response.status = status
        return response

    def not_found(self) -> Response:
        return self.page("error.html", "404 Not Found", title="not_found", message="not_found_text")

"""The citizen's Altinn inbox at ``/inbox/`` (see README, section Inbox, and ``web.py``).

``make_inbox_app(settings, uow_factory)`` is the WSGI app (Flask) the service mounts. Sign-in:
ID-porten when ``INNBYGGERPOST_IDPORTEN_URL`` is set (``idporten.py``), else the demo sign-in in demo
mode, else none. Reportees come from a directory port (``identity.py``): the demo one in demo mode.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask

from ...config import Settings, project_root
from ...service_layer.owners import SecretBox
from ...service_layer.unit_of_work import UnitOfWork
from .identity import DemoDirectory, DemoSignIn, NoDirectory, NoSignIn, ReporteeDirectory, SignIn
from .web import create_app


def _session_key(settings: Settings) -> bytes:
    if settings.inbox_session_secret:
        return settings.inbox_session_secret.encode()
    box = SecretBox(settings.secret_key_file)
    try:
        return box.derive_key("innbyggerpost inbox session")
    except FileExistsError:  # another process created the key file at the same moment
        return box.derive_key("innbyggerpost inbox session")


def make_inbox_app(
    settings: Settings,
    uow_factory: Callable[[], UnitOfWork],
    sign_in: SignIn | None = None,
    directory: ReporteeDirectory | None = None,
) -> Flask:
    demo = None
    if settings.demo_mode:
        demo = DemoDirectory(settings.sim_seed or project_root() / "simulators" / "seed.json")
    if directory is None:
        directory = demo or NoDirectory()
    if sign_in is None and not settings.idporten_url:
        sign_in = DemoSignIn(demo) if demo is not None else NoSignIn()
    # sign_in None here: ID-porten, built by create_app (its OAuth client belongs to the Flask app)
    return create_app(settings, uow_factory, sign_in, directory, _session_key(settings))

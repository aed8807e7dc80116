"""The citizen's Altinn inbox at ``/inbox/`` (see README, section Inbox, and ``web.py``).

``make_inbox_app(settings, uow_factory)`` is the WSGI app the service mounts; sign-in and reportees
are ports (``identity.py``): the demo adapters in demo mode, none otherwise.
"""

from __future__ import annotations

from collections.abc import Callable

from ...config import Settings, project_root
from ...service_layer.owners import SecretBox
from ...service_layer.unit_of_work import UnitOfWork
from .identity import DemoDirectory, DemoSignIn, NoDirectory, NoSignIn, ReporteeDirectory, SignIn
from .session import SessionCodec
from .web import InboxApp


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
) -> InboxApp:
    if sign_in is None or directory is None:
        if settings.demo_mode:
            demo = DemoDirectory(settings.sim_seed or project_root() / "simulators" / "seed.json")
            sign_in, directory = sign_in or DemoSignIn(demo), directory or demo
        else:
            sign_in, directory = sign_in or NoSignIn(), directory or NoDirectory()
    return InboxApp(
        uow_factory,
        sign_in,
        directory,
        SessionCodec(_session_key(settings), settings.inbox_session_seconds),
        secure_cookies=settings.public_url.startswith("https://"),
    )

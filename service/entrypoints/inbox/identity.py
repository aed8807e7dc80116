"""Who is signed in, and for whom they may act: the inbox's ports, and the demo adapters.

A real deployment implements :class:`SignIn` with ID-porten (OpenID Connect: ``start`` redirects to
the authorisation endpoint with ``state``/``nonce``, ``finish`` handles the callback, checks the ID
token and returns the ``pid`` claim) and :class:`ReporteeDirectory` with the register of roles
(Altinn authorisation / Enhetsregisteret). The shipped :class:`DemoSignIn` lists the simulator's
persons and demo organisations to choose from and exists only in demo mode
(``INNBYGGERPOST_DEMO_MODE``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from .http import Request, Response


@dataclass(frozen=True)
class Reportee:
    id: str  # fødselsnummer (11 digits) or organisation number (9 digits)
    name: str


@dataclass(frozen=True)
class Identity:
    pid: str  # the signed-in person's fødselsnummer
    name: str
    reportees: tuple[Reportee, ...]  # whom they may act for; their own pid first

    @property
    def reportee_ids(self) -> frozenset[str]:
        return frozenset(r.id for r in self.reportees)


class ReporteeDirectory(Protocol):
    def reportees(self, pid: str) -> list[Reportee]:
        """The organisations (and other persons) this person may act for, not including themself."""
        ...

    def person_name(self, pid: str) -> str: ...


class SignIn(Protocol):
    """The sign-in step. ``start`` answers GET /inbox/login; ``finish`` answers the form POST (CSRF
    already checked by the inbox) or the identity provider's callback, and returns the person's pid."""

    label: str
    demo: bool

    def start(self, request: Request, render: Any) -> Response: ...

    def finish(self, request: Request) -> str | None: ...


@dataclass(frozen=True)
class DemoPerson:
    pid: str
    krr_status: str  # AKTIV | SLETTET | IKKE_REGISTRERT
    reserved: bool
    vendor: str | None  # the postbox vendor's name
    email: str | None


@dataclass(frozen=True)
class DemoOrganisation:
    orgnr: str
    name: str
    representatives: tuple[str, ...]


class DemoDirectory:
    """Persons and organisations from the simulator seed (``persons``, ``demo_organisations``)."""

    def __init__(self, seed_file: str | Path) -> None:
        raw = json.loads(Path(seed_file).read_text(encoding="utf-8"))
        vendors = {k: v.get("name", k) for k, v in raw.get("vendors", {}).items()}
        self.persons = [
            DemoPerson(
                p["id"],
                p.get("status", "IKKE_REGISTRERT"),
                p.get("reservasjon") == "JA",
                vendors.get(p["vendor"], p["vendor"]) if p.get("vendor") else None,
                p.get("epost"),
            )
            for p in raw.get("persons", [])
        ]
        self.organisations = [
            DemoOrganisation(o["orgnr"], o.get("name", o["orgnr"]), tuple(o.get("representatives", [])))
            for o in raw.get("demo_organisations", [])
        ]

    def reportees(self, pid: str) -> list[Reportee]:
        return [Reportee(o.orgnr, o.name) for o in self.organisations if pid in o.representatives]

    def person_name(self, pid: str) -> str:
        return f"Demoperson {pid}"

    def known(self, pid: str) -> bool:
        return any(p.pid == pid for p in self.persons) or any(
            pid in o.representatives for o in self.organisations
        )


class DemoSignIn:
    """Pick a synthetic person (or an organisation's representative) from a list. Demo mode only."""

    label = "Demo sign-in"
    demo = True

    def __init__(self, directory: DemoDirectory) -> None:
        self.directory = directory

    def start(self, request: Request, render: Any) -> Response:
        return render(
            "login.html", persons=self.directory.persons, organisations=self.directory.organisations
        )

    def finish(self, request: Request) -> str | None:
        pid = request.form.get("pid", "")
        return pid if self.directory.known(pid) else None


class NoSignIn:
    """Demo mode is off and no real sign-in is configured: nobody can sign in."""

    label = "not configured"
    demo = False

    def start(self, request: Request, render: Any) -> Response:
        response = render("login.html", persons=[], organisations=[], not_configured=True)
        response.status = "503 Service Unavailable"
        return response

    def finish(self, request: Request) -> str | None:
        return None


class NoDirectory:
    def reportees(self, pid: str) -> list[Reportee]:
        return []

    def person_name(self, pid: str) -> str:
        return pid


def identity_for(pid: str, directory: ReporteeDirectory) -> Identity:
    name = directory.person_name(pid)
    return Identity(pid, name, (Reportee(pid, name), *directory.reportees(pid)))

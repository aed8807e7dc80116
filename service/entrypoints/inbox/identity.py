"""Who is signed in, and for whom they may act: the inbox's ports, and the demo adapters.

Sign-in is ID-porten (:mod:`.idporten`, OpenID Connect with PKCE through Authlib) when
``INNBYGGERPOST_IDPORTEN_URL`` is set, the demo sign-in (:class:`DemoSignIn`, the simulator's persons
and demo organisations to choose from) in demo mode only, else nobody (:class:`NoSignIn`). A real
deployment implements :class:`ReporteeDirectory` with the register of roles (Altinn authorisation /
Enhetsregisteret); it is asked on every request, so representation rights are never older than the
directory's own answer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ...domain.security_level import SecurityLevel


@dataclass(frozen=True)
class Reportee:
    id: str  # fødselsnummer (11 digits) or organisation number (9 digits)
    name: str


@dataclass(frozen=True)
class Identity:
    pid: str  # the signed-in person's fødselsnummer
    name: str
    reportees: tuple[Reportee, ...]  # whom they may act for; their own pid first
    level: SecurityLevel = SecurityLevel.SUBSTANTIAL  # what the sign-in proved (ID token acr)

    @property
    def reportee_ids(self) -> frozenset[str]:
        return frozenset(r.id for r in self.reportees)


class ReporteeDirectory(Protocol):
    def reportees(self, pid: str) -> list[Reportee]:
        """The organisations (and other persons) this person may act for, not including themself."""
        ...

    def person_name(self, pid: str) -> str: ...


class SignIn(Protocol):
    """How people sign in. ``mode`` is bound into every session: a session started in one mode is
    nothing to an inbox running in another (a demo cookie never opens a real inbox)."""

    label: str
    mode: str  # "demo" | "idporten" | "none"
    demo: bool


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
    """Pick a synthetic person (or an organisation's representative) from a list. Demo mode only.
    A demo sign-in counts as security level 4, so every demo letter opens."""

    label = "Demo sign-in"
    mode = "demo"
    demo = True
    level = SecurityLevel.HIGH

    def __init__(self, directory: DemoDirectory) -> None:
        self.directory = directory

    def known(self, pid: str) -> bool:
        return self.directory.known(pid)


class NoSignIn:
    """Demo mode is off and ID-porten is not configured: nobody can sign in."""

    label = "not configured"
    mode = "none"
    demo = False


class NoDirectory:
    def reportees(self, pid: str) -> list[Reportee]:
        return []

    def person_name(self, pid: str) -> str:
        return pid


def identity_for(pid: str, directory: ReporteeDirectory, level: SecurityLevel) -> Identity:
    name = directory.person_name(pid)
    return Identity(pid, name, (Reportee(pid, name), *directory.reportees(pid)), level)

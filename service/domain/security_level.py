"""The security level (sikkerhetsnivå) of a service edition: 3 or 4, registered with the owner's services.

It is the ``sikkerhetsnivaa`` a DPI message of that service edition carries, and the sign-in a citizen
needs to open its letters in the inbox: level 3 is ID-porten's ``idporten-loa-substantial`` (MinID and
the like), level 4 ``idporten-loa-high`` (BankID and the like). Unregistered editions are level 3.
"""

from __future__ import annotations

from enum import IntEnum


class SecurityLevel(IntEnum):
    SUBSTANTIAL = 3
    HIGH = 4

    @property
    def acr(self) -> str:
        return ACR_OF[self]

    @classmethod
    def from_acr(cls, acr: str | None) -> SecurityLevel | None:
        """The level an ID token's ``acr`` proves; None for any other value."""
        return next((level for level, value in ACR_OF.items() if value == acr), None)

    @classmethod
    def parse(cls, value: int | str) -> SecurityLevel:
        try:
            return cls(int(value))
        except ValueError as exc:
            raise ValueError(f"security level must be 3 or 4, not {value!r}") from exc

    def allows(self, required: SecurityLevel) -> bool:
        """A sign-in at this level may open letters that need ``required``."""
        return self >= required


DEFAULT = SecurityLevel.SUBSTANTIAL
ACR_OF = {SecurityLevel.SUBSTANTIAL: "idporten-loa-substantial", SecurityLevel.HIGH: "idporten-loa-high"}

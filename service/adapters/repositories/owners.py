"""Service owners, their system users and services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ...domain.security_level import DEFAULT as SECURITY_DEFAULT
from ...domain.security_level import SecurityLevel
from .. import orm


@dataclass(frozen=True)
class SystemUserRecord:
    """What authentication needs of one system user."""

    owner_id: int
    system_user_code: str
    organisation_number: str
    username: str
    password_hash: str
    digest_secret: str | None
    services: frozenset[tuple[str, int]]  # (ServiceCode, ServiceEdition) its owner may use


_SERVICE_OWNER = select(orm.OwnerService.owner_id).where(
    orm.OwnerService.service_code == bindparam("code"),
    orm.OwnerService.service_edition == bindparam("edition"),
)


class OwnerRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def system_user(self, username: str) -> SystemUserRecord | None:
        row = self.session.execute(
            select(
                orm.SystemUser.owner_id,
                orm.ServiceOwner.system_user_code,
                orm.ServiceOwner.organisation_number,
                orm.SystemUser.username,
                orm.SystemUser.password_hash,
                orm.SystemUser.digest_secret,
            )
            .join(orm.ServiceOwner, orm.ServiceOwner.id == orm.SystemUser.owner_id)
            .where(orm.SystemUser.username == username)
        ).first()
        if row is None:
            return None
        services = frozenset(
            (code, edition)
            for code, edition in self.session.execute(
                select(orm.OwnerService.service_code, orm.OwnerService.service_edition).where(
                    orm.OwnerService.owner_id == row.owner_id
                )
            )
        )
        return SystemUserRecord(*row, services=services)

    def owns_service(self, owner_id: int, service_code: str, service_edition: int) -> bool:
        found = self.session.connection().scalar(
            _SERVICE_OWNER, {"code": service_code, "edition": service_edition}
        )
        return found is not None and found == owner_id

    def organisation_number(self, owner_id: int) -> str | None:
        return self.session.scalar(
            select(orm.ServiceOwner.organisation_number).where(orm.ServiceOwner.id == owner_id)
        )

    def owner_by_code(self, system_user_code: str) -> orm.ServiceOwner | None:
        return self.session.scalar(
            select(orm.ServiceOwner).where(orm.ServiceOwner.system_user_code == system_user_code)
        )

    def add_owner(
        self, system_user_code: str, name: str, organisation_number: str, now: datetime
    ) -> orm.ServiceOwner:
        owner = orm.ServiceOwner(
            system_user_code=system_user_code,
            name=name,
            organisation_number=organisation_number,
            created_at=now,
        )
        self.session.add(owner)
        self.session.flush()
        return owner

    def user_by_name(self, username: str) -> orm.SystemUser | None:
        return self.session.scalar(select(orm.SystemUser).where(orm.SystemUser.username == username))

    def add_user(self, owner_id: int, username: str) -> orm.SystemUser:
        user = orm.SystemUser(owner_id=owner_id, username=username, password_hash="")
        self.session.add(user)
        return user

    def service(self, service_code: str, service_edition: int) -> orm.OwnerService | None:
        return self.session.scalar(
            select(orm.OwnerService).where(
                orm.OwnerService.service_code == service_code,
                orm.OwnerService.service_edition == service_edition,
            )
        )

    def altinn3_resources(self) -> list[str]:
        """Every Altinn 3 resource an owner's service is mapped to."""
        col = orm.OwnerService.altinn3_resource_id
        return sorted(r for r in self.session.scalars(select(col).where(col.is_not(None)).distinct()) if r)

    def altinn3_resource(self, service_code: str, service_edition: int) -> str | None:
        return self.session.scalar(
            select(orm.OwnerService.altinn3_resource_id).where(
                orm.OwnerService.service_code == service_code,
                orm.OwnerService.service_edition == service_edition,
            )
        )

    def add_service(self, owner_id: int, service_code: str, service_edition: int) -> orm.OwnerService:
        row = orm.OwnerService(owner_id=owner_id, service_code=service_code, service_edition=service_edition)
        self.session.add(row)
        return row

    def security_level(self, service_code: str, service_edition: int) -> SecurityLevel:
        """The service edition's security level (3 or 4; 3 when it is not registered): the
        ``sikkerhetsnivaa`` of its DPI messages and the sign-in its inbox letters need."""
        level = self.session.scalar(
            select(orm.OwnerService.security_level).where(
                orm.OwnerService.service_code == service_code,
                orm.OwnerService.service_edition == service_edition,
            )
        )
        return SECURITY_DEFAULT if level is None else SecurityLevel(level)

"""Service owners, their system users and services; authentication of system users."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken

from .. import metrics
from ..domain.security_level import DEFAULT as SECURITY_DEFAULT
from ..domain.security_level import SecurityLevel
from .ports import UnitOfWorkPort
from .unit_of_work import UnitOfWork, UnitOfWorkFactory

# OWASP's minimum argon2id parameters (19 MiB, 2 passes): memory-hard, ~10-20 ms a check.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


@dataclass(frozen=True)
class Principal:
    """An authenticated system user acting for its service owner."""

    owner_id: int
    system_user_code: str
    organisation_number: str
    username: str
    # The (ServiceCode, ServiceEdition) pairs its owner may use, as read at authentication (cached
    # with the principal: a change takes effect within Authenticator.CACHE_SECONDS); None: ask the database.
    services: frozenset[tuple[str, int]] | None = None


def owns_service(uow: UnitOfWorkPort, principal: Principal, service_code: str, service_edition: int) -> bool:
    if principal.services is not None:
        return (service_code, service_edition) in principal.services
    return uow.owners.owns_service(principal.owner_id, service_code, service_edition)


class OwnerError(Exception):
    pass


def hash_password(password: str) -> str:
    return _hasher.hash(password)


class SecretBox:
    """Encrypts the PasswordDigest secrets at rest with a Fernet key kept in a file."""

    def __init__(self, key_file: str) -> None:
        self._path = Path(key_file)

    def _fernet(self, create: bool) -> Fernet | None:
        if not self._path.exists():
            if not create:
                return None
            self._path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(Fernet.generate_key())
        return Fernet(self._path.read_bytes().strip())

    def derive_key(self, purpose: str) -> bytes:
        """A key for another purpose (e.g. signing inbox sessions), derived from this file's key."""
        f = self._fernet(create=True)
        assert f is not None
        return hmac.new(self._path.read_bytes().strip(), purpose.encode(), hashlib.sha256).digest()

    def seal(self, secret: str) -> str:
        f = self._fernet(create=True)
        assert f is not None
        return f.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str | None:
        f = self._fernet(create=False)
        if f is None:
            return None
        try:
            return f.decrypt(sealed.encode()).decode()
        except InvalidToken:
            return None


def add_owner(
    uow: UnitOfWork,
    *,
    system_user_code: str,
    name: str,
    organisation_number: str,
    username: str,
    password: str,
    services: list[tuple[str, int]],
    secret_box: SecretBox | None = None,
    replace: bool = False,
    confirmation: Collection[tuple[str, int]] = (),
    security_levels: Mapping[tuple[str, int], int] | None = None,
    resources: dict[tuple[str, int], str] | None = None,
) -> bool:
    """Create (or with ``replace`` update) a service owner with one system user. Returns True if created.

    ``confirmation``: service editions whose letters the citizen confirms in the inbox (``Confirmed``);
    they are added to ``services`` when missing there. ``security_levels``: (ServiceCode,
    ServiceEdition) -> 3 or 4 (default 3), the DPI sikkerhetsnivaa and the inbox sign-in level.
    ``resources``: service edition -> Altinn 3 resource id (INBOX_BACKEND=altinn3). The editions of
    both are added to ``services`` when missing there."""
    levels = {pair: SecurityLevel.parse(v) for pair, v in (security_levels or {}).items()}
    resources = resources or {}
    services = list(services) + [p for p in confirmation if p not in services]
    services += [p for p in levels if p not in services]
    services += [p for p in resources if p not in services]
    now = datetime.now(UTC)
    with uow:
        owner = uow.owners.owner_by_code(system_user_code)
        if owner is not None and not replace:
            return False
        if owner is None:
            owner = uow.owners.add_owner(system_user_code, name, organisation_number, now)
        owner.name, owner.organisation_number = name, organisation_number
        user = uow.owners.user_by_name(username)
        if user is not None and user.owner_id != owner.id:
            raise OwnerError(f"system user {username} belongs to another service owner")
        if user is None:
            user = uow.owners.add_user(owner.id, username)
        user.password_hash = hash_password(password)
        user.digest_secret = secret_box.seal(password) if secret_box else None
        for code, edition in services:
            existing = uow.owners.service(code, edition)
            if existing is None:
                existing = uow.owners.add_service(owner.id, code, edition)
            elif existing.owner_id != owner.id:
                raise OwnerError(f"service {code}/{edition} belongs to another service owner")
            existing.requires_confirmation = (code, edition) in confirmation
            existing.security_level = int(levels.get((code, edition), SECURITY_DEFAULT))
            if (code, edition) in resources:
                existing.altinn3_resource_id = resources[(code, edition)]
        uow.commit()
        return True


class LoginThrottle:
    """Failed logins counted in a sliding window, separately per system user name, per client address
    and per (user name, client address) pair; :meth:`admit` is the one decision, taken before the
    success cache and before any password hash.

    * pair: after ``max_failures`` from one address for one user, that address is refused for that
      user for ``lockout`` seconds. Guessing from another address never locks the owner out at its own;
    * address: after ``ADDRESS_FACTOR`` × ``max_failures`` failures of *existing* users from one
      address (a sprayer of known user names), that address is refused for every user;
    * user: after ``USER_FACTOR`` × ``max_failures`` failures for one existing user from anywhere (a
      distributed guesser), that user is refused from everywhere.

    The address and user locks spare a pair that logged in successfully in the last ``good_seconds``
    (the owner's own systems keep working during an attack); the pair lock spares no one, so a locked
    guesser learns nothing even when it guesses right. Failures with user names that do not exist
    count only against that name: invented names lock out nobody but themselves. A refusal looks
    exactly like a wrong password. Behind a reverse proxy the client address must come from
    ``INNBYGGERPOST_TRUSTED_PROXIES`` (X-Forwarded-For), or every client shares the proxy's address."""

    ADDRESS_FACTOR = 5
    USER_FACTOR = 10
    MAX_KEYS = 100_000  # bounded memory under a spray of names or addresses

    def __init__(
        self,
        max_failures: int = 10,
        window: float = 300.0,
        lockout: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        good_seconds: float = 300.0,
    ) -> None:
        self.max_failures = max(1, max_failures)
        self.window = window
        self.lockout = lockout
        self.good_seconds = good_seconds
        self._clock = clock
        self._failures: dict[str, list[float]] = {}
        self._locked_until: dict[str, float] = {}
        self._good: dict[str, float] = {}
        self._lock = threading.Lock()
        self.refused = 0  # quick refusals (metrics, tests)

    @staticmethod
    def _keys(username: str, client: str | None) -> tuple[str, str, str | None]:
        pair = f"pair:{username}\x00{client or '-'}"
        return pair, f"user:{username}", (f"addr:{client}" if client else None)

    def admit(self, username: str, client: str | None) -> bool:
        """May a password for ``username`` from ``client`` be checked at all? False: refuse at once."""
        pair, user, addr = self._keys(username, client)
        now = self._clock()
        with self._lock:
            refused = self._locked_until.get(pair, 0.0) > now
            if not refused and self._good.get(pair, 0.0) <= now:
                refused = self._locked_until.get(user, 0.0) > now or (
                    addr is not None and self._locked_until.get(addr, 0.0) > now
                )
            if refused:
                self.refused += 1
                metrics.LOGIN_REFUSED.inc()
            return not refused

    def failed(self, username: str, client: str | None, known: bool = True) -> None:
        """A wrong password (``known``: the user name exists)."""
        pair, user, addr = self._keys(username, client)
        now = self._clock()
        limits = [(pair, self.max_failures)]
        if known:
            limits.append((user, self.max_failures * self.USER_FACTOR))
            if addr is not None:
                limits.append((addr, self.max_failures * self.ADDRESS_FACTOR))
        with self._lock:
            if len(self._failures) > self.MAX_KEYS:
                self._failures.clear()
            if len(self._locked_until) > self.MAX_KEYS:
                self._locked_until = {k: t for k, t in self._locked_until.items() if t > now}
                if len(self._locked_until) > self.MAX_KEYS:
                    self._locked_until.clear()
            for key, limit in limits:
                recent = [t for t in self._failures.get(key, []) if now - t < self.window]
                recent.append(now)
                self._failures[key] = recent
                if len(recent) >= limit:
                    self._locked_until[key] = now + self.lockout
                    self._failures[key] = []

    def succeeded(self, username: str, client: str | None) -> None:
        pair, _user, _addr = self._keys(username, client)
        now = self._clock()
        with self._lock:
            self._failures.pop(pair, None)
            if len(self._good) > self.MAX_KEYS:
                self._good = {k: t for k, t in self._good.items() if t > now}
                if len(self._good) > self.MAX_KEYS:
                    self._good.clear()
            self._good[pair] = now + self.good_seconds


class Authenticator:
    """Checks system-user passwords; successful checks are remembered briefly (argon2 is slow on purpose).

    Every login, PasswordText, Basic or PasswordDigest, first asks the throttle (:meth:`LoginThrottle.admit`):
    a refused one is answered without the success cache, a database read or a hash."""

    CACHE_SECONDS = 300.0

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        secret_box: SecretBox | None = None,
        throttle: LoginThrottle | None = None,
        hash_concurrency: int = 2,
        refusal_delay: float = 0.0,
    ) -> None:
        # A locked-out login is answered after this delay (a tarpit): each attacking connection then
        # costs a sleeping thread instead of a core's worth of parsing and refusing.
        self._refusal_delay = refusal_delay
        self._uow_factory = uow_factory
        self._secret_box = secret_box
        self.throttle = throttle or LoginThrottle()
        # argon2 is memory- and CPU-hard: a flood of wrong passwords may use these slots, not every core.
        self._hashing = threading.BoundedSemaphore(max(1, hash_concurrency))
        self._key = secrets.token_bytes(32)
        self._ok: dict[tuple[str, bytes], tuple[float, Principal]] = {}
        self._users: dict[str, tuple[float, tuple[str, str | None, Principal]]] = {}
        self._lock = threading.Lock()

    def _load(self, username: str) -> tuple[str, str | None, Principal] | None:
        """(password hash, sealed digest secret, principal) of a system user; remembered as long as a
        successful password check is (WS digest requests would otherwise read it every time)."""
        now = time.monotonic()
        with self._lock:
            hit = self._users.get(username)
            if hit and hit[0] > now:
                return hit[1]
        with self._uow_factory().for_reading() as uow:
            user = uow.owners.system_user(username)
        if user is None:
            return None
        principal = Principal(
            user.owner_id, user.system_user_code, user.organisation_number, user.username, user.services
        )
        loaded = (user.password_hash, user.digest_secret, principal)
        with self._lock:
            if len(self._users) > 10000:
                self._users.clear()
            self._users[username] = (now + self.CACHE_SECONDS, loaded)
        return loaded

    def _refuse(self) -> None:
        if self._refusal_delay > 0:
            time.sleep(self._refusal_delay)

    def check_password(self, username: str, password: str, client: str | None = None) -> Principal | None:
        if not self.throttle.admit(username, client):
            self._refuse()
            return None
        tag = hmac.new(self._key, password.encode(), hashlib.sha256).digest()
        now = time.monotonic()
        with self._lock:
            hit = self._ok.get((username, tag))
        principal = hit[1] if hit and hit[0] > now else None
        if principal is not None:
            self.throttle.succeeded(username, client)
            return principal
        loaded = self._load(username)
        with self._hashing:
            if loaded is None:
                _hasher.hash(password)  # same cost for unknown users
                self.throttle.failed(username, client, known=False)
                return None
            password_hash, _sealed, principal = loaded
            try:
                _hasher.verify(password_hash, password)
            except (VerificationError, InvalidHashError):
                self.throttle.failed(username, client, known=True)
                return None
        self.throttle.succeeded(username, client)
        with self._lock:
            if len(self._ok) > 10000:
                self._ok.clear()
            self._ok[(username, tag)] = (now + self.CACHE_SECONDS, principal)
        return principal

    def check_digest(
        self, username: str, client: str | None, matches: Callable[[str], bool]
    ) -> Principal | None:
        """WS-Security PasswordDigest: ``matches(cleartext secret)`` compares the digest. Counted by the
        throttle like a password; an unknown user and one without digest both fail (same answer)."""
        if not self.throttle.admit(username, client):
            self._refuse()
            return None
        loaded = self._load(username)
        found = self.digest_secret(username) if loaded is not None else None
        if found is not None and matches(found[0]):
            self.throttle.succeeded(username, client)
            return found[1]
        self.throttle.failed(username, client, known=loaded is not None)
        return None

    def digest_secret(self, username: str) -> tuple[str, Principal] | None:
        """The cleartext password for PasswordDigest, if this user may use it."""
        loaded = self._load(username)
        if loaded is None or self._secret_box is None or not loaded[1]:
            return None
        secret = self._secret_box.open(loaded[1])
        return (secret, loaded[2]) if secret is not None else None

    def principal(self, username: str) -> Principal | None:
        loaded = self._load(username)
        return loaded[2] if loaded else None

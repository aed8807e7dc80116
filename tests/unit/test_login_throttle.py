"""Failed logins are throttled per (user, address) pair, per address and per user (service_layer/owners.py),
with one decision (``admit``) taken before the success cache (issue 14)."""

from __future__ import annotations

from service.service_layer.owners import LoginThrottle


def _fail(t: LoginThrottle, user: str, addr: str | None, n: int, known: bool = True) -> None:
    for _ in range(n):
        t.failed(user, addr, known=known)


def test_a_pair_is_locked_after_max_failures_for_the_lockout_then_free() -> None:
    now = [0.0]
    t = LoginThrottle(max_failures=3, window=60, lockout=30, clock=lambda: now[0])
    _fail(t, "10001", "10.0.0.1", 2)
    assert t.admit("10001", "10.0.0.1")
    t.failed("10001", "10.0.0.1")
    assert not t.admit("10001", "10.0.0.1")  # the guesser's address, for this user
    assert t.admit("10001", "10.0.0.2")  # the owner at its own address is not locked out
    assert t.admit("10002", "10.0.0.1")  # nor another user at the guesser's address
    now[0] = 30.0
    assert t.admit("10001", "10.0.0.1")


def test_failures_outside_the_window_do_not_count() -> None:
    now = [0.0]
    t = LoginThrottle(max_failures=2, window=10, lockout=30, clock=lambda: now[0])
    t.failed("u", None)
    now[0] = 11.0
    t.failed("u", None)
    assert t.admit("u", None)


def test_invented_user_names_lock_out_nobody_but_themselves() -> None:
    t = LoginThrottle(max_failures=2, window=60, lockout=30, clock=lambda: 0.0)
    for i in range(1000):  # 140 in the issue: the proxy's one address locked out every owner
        t.failed(f"invented{i}", "10.9.9.9", known=False)
    assert t.admit("10001", "10.9.9.9")
    _fail(t, "invented0", "10.9.9.8", 2, known=False)
    assert not t.admit("invented0", "10.9.9.8")


def test_an_address_spraying_existing_users_is_locked_but_spares_owners_that_logged_in_there() -> None:
    t = LoginThrottle(max_failures=2, window=60, lockout=30, clock=lambda: 0.0)
    t.succeeded("10002", "10.9.9.9")  # an owner's system behind the same address
    for i in range(2 * LoginThrottle.ADDRESS_FACTOR):
        t.failed(f"user{i % 3}", "10.9.9.9", known=True)
    assert not t.admit("someone-else", "10.9.9.9")
    assert t.admit("someone-else", "10.0.0.1")
    assert t.admit("10002", "10.9.9.9")


def test_a_distributed_guesser_locks_the_user_except_where_it_logged_in() -> None:
    t = LoginThrottle(max_failures=2, window=60, lockout=30, clock=lambda: 0.0)
    t.succeeded("10001", "10.0.0.1")
    for i in range(2 * LoginThrottle.USER_FACTOR):
        t.failed("10001", f"10.1.{i}.1")
    assert not t.admit("10001", "10.200.0.1")
    assert t.admit("10001", "10.0.0.1")


def test_the_pair_lock_holds_even_for_a_right_guess() -> None:
    t = LoginThrottle(max_failures=2, window=60, lockout=30, clock=lambda: 0.0)
    t.succeeded("u", "10.0.0.1")  # the pair logged in before (the success cache holds its password)
    _fail(t, "u", "10.0.0.1", 2)
    assert not t.admit("u", "10.0.0.1")


def test_success_clears_the_pairs_count() -> None:
    t = LoginThrottle(max_failures=2, window=60, lockout=30, clock=lambda: 0.0)
    t.failed("u", None)
    t.succeeded("u", None)
    t.failed("u", None)
    assert t.admit("u", None)

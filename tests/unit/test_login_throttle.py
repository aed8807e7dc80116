"""Failed logins are throttled per system user and per client address (service_layer/owners.py)."""

from __future__ import annotations

from service.service_layer.owners import LoginThrottle


def test_user_locked_after_max_failures_for_the_lockout_then_free() -> None:
    now = [0.0]
    t = LoginThrottle(max_failures=3, window=60, lockout=30, clock=lambda: now[0])
    keys = t.keys("10001", "10.0.0.1")
    for _ in range(2):
        assert not t.locked(keys)
        t.failed(keys)
    assert not t.locked(keys)
    t.failed(keys)
    assert t.locked(keys) and t.locked(t.keys("10001", "10.0.0.2"))  # the user, from anywhere
    assert not t.locked(t.keys("10002", "10.0.0.1"))  # the address is below its own (higher) limit
    now[0] = 30.0
    assert not t.locked(keys)


def test_failures_outside_the_window_do_not_count() -> None:
    now = [0.0]
    t = LoginThrottle(max_failures=2, window=10, lockout=30, clock=lambda: now[0])
    keys = t.keys("u", None)
    t.failed(keys)
    now[0] = 11.0
    t.failed(keys)
    assert not t.locked(keys)


def test_an_address_spraying_many_users_is_locked() -> None:
    t = LoginThrottle(max_failures=2, window=60, lockout=30, clock=lambda: 0.0)
    for i in range(2 * LoginThrottle.ADDRESS_FACTOR):
        t.failed(t.keys(f"user{i}", "10.9.9.9"))
    assert t.locked(t.keys("someone-else", "10.9.9.9"))
    assert not t.locked(t.keys("someone-else", "10.0.0.1"))


def test_success_clears_the_users_count() -> None:
    t = LoginThrottle(max_failures=2, window=60, lockout=30, clock=lambda: 0.0)
    t.failed(t.keys("u", None))
    t.succeeded("u")
    t.failed(t.keys("u", None))
    assert not t.locked(t.keys("u", None))

"""The client address behind trusted reverse proxies (service/entrypoints/client_address.py, issue 14)."""

from __future__ import annotations

import pytest

from service.config import SettingsError, load
from service.entrypoints.client_address import ClientAddress


def test_without_trusted_proxies_forwarded_for_is_ignored() -> None:
    resolve = ClientAddress(())
    assert resolve({"REMOTE_ADDR": "10.0.0.5", "HTTP_X_FORWARDED_FOR": "1.2.3.4"}) == "10.0.0.5"


def test_a_trusted_proxy_forwards_the_right_most_untrusted_address() -> None:
    resolve = ClientAddress(("10.0.0.0/24", "192.168.1.1"))
    environ = {"REMOTE_ADDR": "10.0.0.5", "HTTP_X_FORWARDED_FOR": "6.6.6.6, 203.0.113.7, 192.168.1.1"}
    assert resolve(environ) == "203.0.113.7"  # 6.6.6.6 was written by the client: not believed
    assert resolve({"REMOTE_ADDR": "10.0.0.5"}) == "10.0.0.5"
    assert (
        resolve({"REMOTE_ADDR": "10.0.1.5", "HTTP_X_FORWARDED_FOR": "1.2.3.4"}) == "10.0.1.5"
    )  # not trusted
    assert resolve({"REMOTE_ADDR": "10.0.0.5", "HTTP_X_FORWARDED_FOR": "junk, 203.0.113.9"}) == "203.0.113.9"
    assert resolve({"REMOTE_ADDR": "10.0.0.5", "HTTP_X_FORWARDED_FOR": "203.0.113.9, junk"}) == "10.0.0.5"


def test_the_setting_takes_addresses_and_networks_and_refuses_garbage() -> None:
    s = load({"INNBYGGERPOST_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8 ,::1"})
    assert s.trusted_proxies == ("127.0.0.1/32", "10.0.0.0/8", "::1/128")
    with pytest.raises(SettingsError, match="TRUSTED_PROXIES"):
        load({"INNBYGGERPOST_TRUSTED_PROXIES": "not-an-address"})

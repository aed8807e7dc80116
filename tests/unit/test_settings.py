"""Settings (service/config.py): the one place that reads the environment."""

from __future__ import annotations

import re
from dataclasses import fields

import pytest

from service.config import Settings, SettingsError, load
from tests.support.reference import REPO_ROOT


def _variables() -> set[str]:
    source = (REPO_ROOT / "service" / "config.py").read_text()
    return set(re.findall(r'env\(\s*"([A-Z0-9_]+)"', source))


def test_every_setting_is_documented_in_the_readme() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    missing = sorted(v for v in _variables() if f"INNBYGGERPOST_{v}" not in section)
    assert missing == [], f"not in README's Configuration table: {missing}"
    assert len(_variables()) == len(fields(Settings))


def test_a_bad_value_names_its_variable() -> None:
    with pytest.raises(SettingsError, match="INNBYGGERPOST_READ_TIMEOUT='soon'"):
        load({"INNBYGGERPOST_READ_TIMEOUT": "soon"})
    with pytest.raises(SettingsError, match="INNBYGGERPOST_DEMO_MODE"):
        load({"INNBYGGERPOST_DEMO_MODE": "perhaps"})
    with pytest.raises(SettingsError, match="INNBYGGERPOST_LOG_LEVEL"):
        load({"INNBYGGERPOST_LOG_LEVEL": "LOUD"})


def test_values_are_read_from_the_given_environment() -> None:
    s = load({"INNBYGGERPOST_READ_TIMEOUT": "2.5", "INNBYGGERPOST_DPI_URL": "https://ap.example/api/v2/dpi"})
    assert s.read_timeout == 2.5 and s.dpi_url == "https://ap.example/api/v2/dpi"
    assert load({}).read_timeout == 10.0


def test_krr_protocol_and_the_soap_endpoint_alias() -> None:
    s = load({})
    assert s.krr_protocol == "rest" and s.krr_url.endswith("/kontaktregisteret")
    assert s.krr_soap_endpoint.endswith("/krr")
    # before REST, KRR_URL named the SOAP endpoint: with KRR_PROTOCOL=soap it still does
    old = load({"INNBYGGERPOST_KRR_PROTOCOL": "soap", "INNBYGGERPOST_KRR_URL": "https://proxy.example/ws"})
    assert old.krr_soap_endpoint == "https://proxy.example/ws"
    both = load(
        {
            "INNBYGGERPOST_KRR_PROTOCOL": "SOAP",
            "INNBYGGERPOST_KRR_URL": "https://kontaktregisteret.example",
            "INNBYGGERPOST_KRR_SOAP_URL": "https://proxy.example/ws",
        }
    )
    assert both.krr_protocol == "soap" and both.krr_soap_endpoint == "https://proxy.example/ws"
    with pytest.raises(SettingsError, match="INNBYGGERPOST_KRR_PROTOCOL"):
        load({"INNBYGGERPOST_KRR_PROTOCOL": "ldap"})

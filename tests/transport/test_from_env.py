"""R7Client.from_env / PyrusClient.from_env: configured from the variables the tools read."""

from __future__ import annotations

import re

import pytest

from pyrus_calendar import PyrusClient
from r7cal import R7Client

SECRET = "s3cret-value-never-shown"


@pytest.fixture(autouse=True)
def no_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*R7Client.ENVIRONMENT.values(), *PyrusClient.ENVIRONMENT.values()):
        monkeypatch.delenv(name, raising=False)


async def test_r7_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("R7_BASE_URL", "https://r7.example.ru")
    monkeypatch.setenv("R7_LOGIN", "me")
    monkeypatch.setenv("R7_PASSWORD", SECRET)
    async with R7Client.from_env(timeout=5) as r7:
        assert r7.transport.base_url.startswith("https://r7.example.ru")
        assert r7.auth.login_name == "me"
        assert SECRET not in repr(r7)
    async with R7Client.from_env(base_url="https://other.example.ru") as other:  # wins
        assert other.transport.base_url.startswith("https://other.example.ru")


async def test_pyrus_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYRUS_LOGIN", "bot@example.com")
    monkeypatch.setenv("PYRUS_SECURITY_KEY", SECRET)
    async with PyrusClient.from_env() as pyrus:
        assert pyrus.auth.login_name == "bot@example.com"
        assert SECRET not in repr(pyrus)
    monkeypatch.setenv("PYRUS_BASE_URL", "https://pyrus.example.ru/api/v4/")
    async with PyrusClient.from_env() as on_premise:
        assert on_premise.transport.base_url.startswith("https://pyrus.example.ru/api/v4")


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({}, "set R7_BASE_URL"),
        (
            {"R7_BASE_URL": "https://r7.example.ru", "R7_LOGIN": "me"},
            "set R7_PASSWORD (or R7_TOKEN)",
        ),
        ({"R7_BASE_URL": "https://r7.example.ru", "R7_PASSWORD": SECRET}, "set R7_LOGIN (or"),
    ],
)
def test_r7_names_what_is_missing_and_no_value(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], message: str
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=re.escape(message)) as caught:
        R7Client.from_env()
    assert SECRET not in str(caught.value)


def test_pyrus_names_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="set PYRUS_LOGIN and PYRUS_SECURITY_KEY"):
        PyrusClient.from_env()
    monkeypatch.setenv("PYRUS_TOKEN", SECRET)
    client = PyrusClient.from_env()  # a token alone is enough
    assert SECRET not in repr(client)

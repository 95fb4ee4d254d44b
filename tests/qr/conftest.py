"""Fixtures for the QR tests: a refusal checker and a sample logo."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from qunyun.errors import DomainError
from qunyun.i18n import LANGUAGES, load_catalog
from tests.qr.qr_helpers import Refusal, colourful_logo


@pytest.fixture(scope="session")
def messages() -> Mapping[str, Mapping[str, str]]:
    return load_catalog().messages


@pytest.fixture
def refused(messages: Mapping[str, Mapping[str, str]]) -> Refusal:
    """Call ``fn(*args, **kwargs)`` and expect a DomainError ``code``.

    The code must have a message in every language, and each message must format with
    the error's own parameters (the catalogue would otherwise show the raw template).
    """

    def check(code: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> DomainError:
        with pytest.raises(DomainError) as caught:
            fn(*args, **kwargs)
        error = caught.value
        assert error.code == code, error
        entry = messages.get(f"error.{code}", {})
        for language in LANGUAGES:
            assert language in entry, (code, language)
            entry[language].format(**error.params)
        return error

    return check


@pytest.fixture(scope="session")
def logo_png() -> bytes:
    return colourful_logo()

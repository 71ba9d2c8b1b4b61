"""Shared fixtures for the ethics tests: a fixed clock and a request that passes the gate."""

from __future__ import annotations

from datetime import datetime

import pytest
from ethics_support import NOW, VALID_TOML

from ethics import Justification, Policy, default_policy, load_justification_toml


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture
def policy() -> Policy:
    return default_policy()


@pytest.fixture
def valid() -> Justification:
    return load_justification_toml(VALID_TOML)

"""Fixtures of the pharmacovigilance tests that use the database (tests/pharmacovigilance/world.py)."""

from __future__ import annotations

import pytest

from .world import PvWorld, build_world


@pytest.fixture
def pv(db) -> PvWorld:
    return build_world()

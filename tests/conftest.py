import os

import numpy as np
import pytest
from hypothesis import settings

import tinygrad_sm as tg

# CI runs the same hypothesis examples every time, so a red CI always reproduces.
settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(autouse=True)
def _seeded():
    """Every test starts from the same package RNG state and with grad mode on."""
    tg.manual_seed(0)
    yield
    assert tg.is_grad_enabled(), "a test left grad mode disabled"


@pytest.fixture
def rng():
    return np.random.default_rng(1234)

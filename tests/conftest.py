import numpy as np
import pytest

import tinygrad_sm as tg


@pytest.fixture(autouse=True)
def _seeded():
    """Every test starts from the same package RNG state and with grad mode on."""
    tg.manual_seed(0)
    yield
    assert tg.is_grad_enabled(), "a test left grad mode disabled"


@pytest.fixture
def rng():
    return np.random.default_rng(1234)

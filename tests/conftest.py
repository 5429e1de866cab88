"""Shared fixtures: a clean Brian2 device after every test, Agg backend, a private cache."""

import matplotlib
import pytest
from brian2.devices.device import reinit_and_delete

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def _reset_brian():
    yield
    reinit_and_delete()

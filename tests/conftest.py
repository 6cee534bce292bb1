"""Shared test settings: hypothesis profiles, the devices every op test runs on, and the PyTorch oracle.

Hypothesis runs derandomized (the same examples every run) so that CI never flakes; set
HYPOTHESIS_PROFILE=thorough locally to search wider.
"""
import importlib.util
import os

import pytest
from hypothesis import HealthCheck, settings

import minigan

settings.register_profile("ci", derandomize=True, deadline=None, max_examples=8, print_blob=True,
                          database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                                 HealthCheck.function_scoped_fixture])
settings.register_profile("thorough", deadline=None, max_examples=100,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                                 HealthCheck.function_scoped_fixture])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

DEVICES = [
    "cpu",
    pytest.param("cuda", marks=pytest.mark.skipif(not minigan.gpu_available(),
                                                  reason="no CUDA GPU with CuPy on this machine")),
]


@pytest.fixture(params=DEVICES)
def device(request):
    return request.param


@pytest.fixture(autouse=True)
def _seed():
    minigan.manual_seed(0)


@pytest.fixture(scope="session")
def example():
    """examples/mnist_gan.py, the main job, imported as a module (its main(argv) runs a whole job)."""
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples", "mnist_gan.py")
    spec = importlib.util.spec_from_file_location("mnist_gan", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

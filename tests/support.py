"""Helpers shared by the tests: PyTorch as an oracle (skipped where absent, required where CI=true), and
turning test arrays into tensors on a device, and minigan's kernels forced to cut their work."""
import contextlib
import os

import numpy
import pytest

import minigan


def import_torch():
    try:
        import torch
    except ImportError:
        if os.environ.get("CI") == "true":
            raise RuntimeError("CI=true but PyTorch is not installed: the oracle tests must run in CI "
                               "(pip install torch==2.13.0)") from None
        pytest.skip("PyTorch is not installed (pip install -e '.[oracle]')", allow_module_level=True)
    torch.set_num_threads(1)
    return torch


def leaf(array, device="cpu", requires_grad=True):
    """A minigan leaf tensor with the values (and dtype) of `array`, on `device`."""
    return minigan.tensor(numpy.asarray(array), device=device, requires_grad=requires_grad)


@contextlib.contextmanager
def cut_over_three_threads():
    """Inside the block, minigan's CPU kernels cut their work into three pieces (some empty when there is
    less to cut), with no size under which they keep it whole."""
    from minigan import machine
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(machine, "THREADS", 3)
        patch.setattr(machine, "SERIAL_BELOW", 0)
        yield

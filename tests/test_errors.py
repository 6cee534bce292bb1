"""Bad input gets a clear error that names what was wrong, never a wrong number."""
import numpy
import pytest

import minigan
from minigan import backend
from tests.support import leaf


def test_mismatched_shapes_name_the_op_and_both_shapes():
    with pytest.raises(ValueError, match=r"Add: .*\(2, 3\), \(4,\)"):
        minigan.ones(2, 3) + minigan.ones(4)
    with pytest.raises(ValueError, match=r"matmul: shapes \(2, 3\) and \(2, 3\) do not chain"):
        minigan.ones(2, 3) @ minigan.ones(2, 3)
    with pytest.raises(ValueError, match=r"reshape: cannot reshape a tensor of shape \(2, 3\)"):
        minigan.ones(2, 3).reshape(4)


def test_mixed_dtypes_are_refused_not_promoted():
    with pytest.raises(TypeError, match="add: dtypes differ"):
        minigan.ones(2) + minigan.ones(2, dtype="float64")


def test_backward_on_a_non_scalar_needs_grad():
    y = leaf(numpy.ones(3)) * 2
    with pytest.raises(RuntimeError, match=r"one-element output.*shape \(3,\)"):
        y.backward()
    with pytest.raises(ValueError, match="grad has shape"):
        y.backward(minigan.ones(2, dtype="float64"))


def test_grad_names_itself_and_its_grad_outputs():
    """grad() of a non-scalar output without grad_outputs said 'backward: ... pass grad=', a parameter it has not."""
    x = leaf(numpy.ones(3))
    with pytest.raises(RuntimeError, match=r"^grad: grad_outputs can be left out only .* pass grad_outputs= of"):
        minigan.grad(x * 2, [x])
    with pytest.raises(ValueError, match=r"^grad: grad_outputs has shape \(2,\) but the output has shape \(3,\)"):
        minigan.grad(x * 2, [x], grad_outputs=minigan.ones(2, dtype="float64"))


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(TypeError, match="floating-point.*int64"):
        minigan.tensor([1, 2], requires_grad=True)


def test_backward_without_a_graph_says_why():
    with pytest.raises(RuntimeError, match="does not require grad"):
        minigan.tensor([1.0]).sum().backward()


class _FakeGpuArray(numpy.ndarray):
    """A NumPy array that says it lives on the GPU: lets the device check run on machines without one."""


def test_mixing_devices_in_one_op_is_refused(monkeypatch):
    real = backend.device_of
    monkeypatch.setattr(backend, "device_of", lambda a: "cuda" if isinstance(a, _FakeGpuArray) else real(a))
    on_gpu = minigan.Tensor(numpy.ones(2, dtype=numpy.float32).view(_FakeGpuArray))
    with pytest.raises(RuntimeError, match="one device.*cpu and cuda"):
        minigan.ones(2) * on_gpu


def test_asking_for_cuda_without_a_gpu_says_what_is_missing():
    if minigan.gpu_available():
        pytest.skip("a GPU is present here")
    with pytest.raises(RuntimeError, match="CuPy|GPU"):
        minigan.ones(2, device="cuda")
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        minigan.ones(2, device="tpu")


def test_changing_a_saved_input_in_place_is_detected():
    w = leaf(numpy.array([1.0, 2.0]))
    x = leaf(numpy.array([3.0, 4.0]))
    y = (w * x).sum()
    with minigan.no_grad():
        w.mul_(2)  # what an optimizer step does between forward and a late backward
    with pytest.raises(RuntimeError, match=r"Mul: input 0 .* modified in place .*version 0 -> 1"):
        y.backward()


def test_changing_a_saved_output_in_place_is_detected():
    x = leaf(numpy.array([0.5]))
    y = x.tanh()  # tanh's backward reads its output y
    loss = y.sum()
    with minigan.no_grad():
        y.add_(1.0)
    with pytest.raises(RuntimeError, match="Tanh: its output .* was modified in place"):
        loss.backward()


def test_in_place_change_of_a_recorded_tensor_is_refused_while_recording():
    w = leaf(numpy.array([1.0]))
    with pytest.raises(RuntimeError, match="cannot be changed in place while recording"):
        w.add_(1.0)


def test_detect_anomaly_names_the_op_that_made_a_nan():
    x = leaf(numpy.array([-1.0, 1.0]))
    with minigan.detect_anomaly(), pytest.raises(FloatingPointError, match="output of Log"):
        with numpy.errstate(invalid="ignore"):
            x.log()


def test_detect_anomaly_names_the_backward_that_made_an_inf():
    x = leaf(numpy.array([0.0, 1.0]))
    with minigan.detect_anomaly(), pytest.raises(FloatingPointError, match="Sqrt.backward"):
        with numpy.errstate(divide="ignore"):
            x.sqrt().sum().backward()


def test_bad_reduction_axes_and_indices_are_named():
    with pytest.raises(ValueError, match=r"sum: dim 2 is out of range for a tensor of shape \(2, 3\)"):
        minigan.ones(2, 3).sum(2)
    with pytest.raises(ValueError, match=r"^softmax: dim 3 is out of range"):   # it named log_softmax, which it calls
        minigan.softmax(minigan.ones(2, 3), 3)
    with pytest.raises(IndexError, match=r"indexing a tensor of shape \(2, 3\)"):
        minigan.ones(2, 3)[5]
    with pytest.raises(ValueError, match=r"cat: tensor 1 has shape \(2, 2\)"):
        minigan.cat([minigan.ones(2, 3), minigan.ones(2, 2)], 0)
    for dims in [((0, 1),), (0,)]:   # a pair for the two dims, or one left out: "'<=' not supported" before
        with pytest.raises(TypeError, match=r"^transpose: a dim must be an int, got (\(0, 1\)|None)$"):
            minigan.ops.transpose(minigan.ones(2, 3), *dims)


def test_losses_check_their_targets():
    with pytest.raises(ValueError, match="input shape .* and target shape"):
        minigan.binary_cross_entropy_with_logits(minigan.ones(3), minigan.ones(2))
    with pytest.raises(TypeError, match="integer class indices"):
        minigan.cross_entropy(minigan.ones(2, 3), minigan.ones(2))
    with pytest.raises(ValueError, match=r"classes must be in \[0, 3\)"):
        minigan.cross_entropy(minigan.ones(2, 3), minigan.tensor([0, 3]))



def test_a_convolution_geometry_that_is_not_whole_numbers_is_named():
    x, W = minigan.randn(1, 1, 5, 5), minigan.randn(1, 1, 3, 3)
    for bad in (1.5, (1, 1.5), "2", True, (1, 1, 1)):
        with pytest.raises(ValueError, match="conv2d: stride must be an int or a pair of ints"):
            minigan.conv2d(x, W, stride=bad)
    with pytest.raises(ValueError, match="conv2d: groups must be a positive int, got True"):
        minigan.conv2d(x, W, groups=True)

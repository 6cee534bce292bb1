"""Modules, layers and initialisers: registration, state dicts, devices and dtypes, and agreement with
torch.nn layers given the same weights."""
import math

import numpy
import pytest

import minigan
from minigan import gan, nn, optim
from tests.support import import_torch


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU())
        self.head = nn.ModuleList([nn.Linear(4, 1), nn.Linear(4, 2)])

    def forward(self, x):
        h = self.body(x)
        return self.head[0](h), self.head[1](h)


def test_modules_register_parameters_buffers_and_children():
    m = Tiny()
    names = [n for n, _ in m.named_parameters()]
    assert names == ["body.0.weight", "body.0.bias", "body.1.weight", "body.1.bias",
                     "head.0.weight", "head.0.bias", "head.1.weight", "head.1.bias"]
    assert [n for n, _ in m.named_buffers()] == ["body.1.running_mean", "body.1.running_var"]
    assert len(list(m.children())) == 2
    assert all(p.requires_grad for p in m.parameters())
    assert "(body): Sequential(" in repr(m) and "Linear(in_features=3, out_features=4, bias=True)" in repr(m)


def test_train_eval_and_zero_grad():
    m = Tiny()
    a, b = m(minigan.randn(5, 3))
    (a.sum() + b.sum()).backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    m.eval()
    assert not any(mod.training for mod in m.modules())
    m.train()
    assert all(mod.training for mod in m.modules())


def test_state_dict_round_trip_and_strict_loading_changes_nothing_on_error():
    a, b = Tiny(), Tiny()
    b.load_state_dict({k: v.numpy() for k, v in a.state_dict().items()})
    for (_, p), (_, q) in zip(a.state_dict().items(), b.state_dict().items()):
        numpy.testing.assert_array_equal(p.numpy(), q.numpy())
    before = {k: v.numpy().copy() for k, v in b.state_dict().items()}
    state = {k: v.numpy() * 0 for k, v in a.state_dict().items()}
    state["head.1.weight"] = numpy.zeros((3, 4), dtype=numpy.float32)
    with pytest.raises(ValueError, match=r"'head.1.weight' has shape \(3, 4\) in the state but \(2, 4\)"):
        b.load_state_dict(state)
    del state["head.1.weight"]
    with pytest.raises(KeyError, match="missing entries \\['head.1.weight'\\]"):
        b.load_state_dict(state)
    for k, v in b.state_dict().items():
        numpy.testing.assert_array_equal(v.numpy(), before[k])


def test_to_dtype_keeps_parameter_identity_for_optimizers():
    m = nn.Linear(2, 2)
    p = m.weight
    m.double()
    assert m.weight is p and p.dtype == numpy.float64
    assert m(minigan.ones(1, 2, dtype="float64")).dtype == numpy.float64


def test_default_initialisation_follows_torch_bounds():
    minigan.manual_seed(0)
    lin = nn.Linear(400, 50)
    conv = nn.Conv2d(8, 16, 3)
    convt = nn.ConvTranspose2d(8, 6, 4, groups=2)
    for layer, fan_in in ((lin, 400), (conv, 8 * 9), (convt, 3 * 16)):
        bound = 1 / math.sqrt(fan_in)  # kaiming_uniform(a=sqrt(5)) gives exactly this bound
        w = layer.weight.numpy()
        assert numpy.abs(w).max() <= bound and numpy.abs(w).max() > 0.95 * bound
        assert abs(w.std() - bound / math.sqrt(3)) < 0.1 * bound
        assert numpy.abs(layer.bias.numpy()).max() <= bound


def test_initialisers():
    t = minigan.zeros(200, 300)
    nn.init.normal_(t, 1.0, 0.02)
    assert abs(t.numpy().mean() - 1.0) < 1e-3 and abs(t.numpy().std() - 0.02) < 1e-3
    nn.init.xavier_uniform_(t)
    assert numpy.abs(t.numpy()).max() <= math.sqrt(6 / 500)
    nn.init.kaiming_normal_(t, nonlinearity="relu")
    assert abs(t.numpy().std() - math.sqrt(2 / 300)) < 0.01 * math.sqrt(2 / 300) * 10
    nn.init.constant_(t, 3.0)
    assert (t.numpy() == 3).all()
    minigan.manual_seed(3)
    a = nn.init.uniform_(minigan.zeros(4))
    minigan.manual_seed(3)
    b = nn.init.uniform_(minigan.zeros(4))
    numpy.testing.assert_array_equal(a.numpy(), b.numpy())


def _copy_into_torch(ours, theirs, torch):
    with torch.no_grad():
        for (name, p), (tname, tp) in zip(ours.state_dict().items(), theirs.state_dict().items()):
            assert name == tname
            tp.copy_(torch.tensor(p.numpy()))


LAYERS = {
    "Linear": lambda m: m.Linear(5, 3),
    "Conv2d": lambda m: m.Conv2d(4, 6, (3, 2), stride=2, padding=1, groups=2),
    "ConvTranspose2d": lambda m: m.ConvTranspose2d(4, 6, 4, stride=2, padding=1, output_padding=1, groups=2),
    "BatchNorm1d": lambda m: m.BatchNorm1d(5),
    "BatchNorm2d": lambda m: m.BatchNorm2d(4),
    "Sequential": lambda m: m.Sequential(m.Flatten(), m.Linear(4 * 5 * 5, 8), m.LeakyReLU(0.2), m.Unflatten(1, (2, 4)),
                                         m.Tanh(), m.Sigmoid()),
}
INPUTS = {"Linear": (4, 5), "BatchNorm1d": (6, 5)}


@pytest.mark.parametrize("name", LAYERS)
@pytest.mark.parametrize("training", [True, False])
def test_layers_match_torch_given_the_same_weights(name, training):
    torch = import_torch()
    ours, theirs = LAYERS[name](nn), LAYERS[name](torch.nn)
    _copy_into_torch(ours, theirs, torch)
    ours.train(training)
    theirs.train(training)
    x = numpy.random.default_rng(0).standard_normal(INPUTS.get(name, (3, 4, 5, 5))).astype(numpy.float32)
    y, ty = ours(minigan.tensor(x)), theirs(torch.tensor(x))
    numpy.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-4, atol=1e-5)
    y.sum().backward()
    ty.sum().backward()
    for (n, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        numpy.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-4, atol=1e-4, err_msg=n)
    for (n, b), (_, tb) in zip(ours.named_buffers(), [(k, v) for k, v in theirs.named_buffers() if v.dtype.is_floating_point]):
        numpy.testing.assert_allclose(b.numpy(), tb.numpy(), rtol=1e-5, atol=1e-6, err_msg=n)


def test_embedding_dropout_and_their_errors():
    emb = nn.Embedding(10, 3)
    out = emb(minigan.tensor([1, 1, 9]))
    assert out.shape == (3, 3)
    out.sum().backward()
    numpy.testing.assert_array_equal(emb.weight.grad.numpy()[1], [2, 2, 2])
    with pytest.raises(IndexError, match=r"indices must be in \[0, 10\)"):
        emb(minigan.tensor([10]))
    drop = nn.Dropout(0.5).eval()
    x = minigan.ones(10)
    assert drop(x) is x
    with pytest.raises(ValueError, match="p must be in"):
        nn.Dropout(1.5)
    with pytest.raises(ValueError, match="expected a 4-D input"):
        nn.BatchNorm2d(3)(minigan.ones(2, 3))


@pytest.mark.parametrize("build, message", [
    (lambda: nn.Linear(0, 2), "Linear: in_features must be a whole number, at least 1, got 0"),
    (lambda: nn.Linear(2, 2.5), "Linear: out_features must be a whole number, at least 1, got 2.5"),
    (lambda: nn.Conv2d(0, 2, 3), "Conv2d: in_channels must be a whole number, at least 1, got 0"),
    (lambda: nn.Conv2d(1, 2, 0), "Conv2d: kernel_size must be at least 1, got 0"),
    (lambda: nn.Conv2d(1, 2, 3, stride=0), "Conv2d: stride must be at least 1, got 0"),
    (lambda: nn.Conv2d(1, 2, 3, padding=-1), "Conv2d: padding must be at least 0, got -1"),
    (lambda: nn.ConvTranspose2d(1, 2, (4, 0)), r"ConvTranspose2d: kernel_size must be at least 1, got \(4, 0\)"),
    (lambda: nn.ConvTranspose2d(1, 0, 4), "ConvTranspose2d: out_channels must be a whole number, at least 1, got 0"),
    (lambda: nn.ConvTranspose2d(1, 2, 4, output_padding=-1), "ConvTranspose2d: output_padding must be at least 0"),
    (lambda: nn.BatchNorm2d(0), "BatchNorm2d: num_features must be a whole number, at least 1, got 0"),
    (lambda: nn.Embedding(10, True), "Embedding: embedding_dim must be a whole number, at least 1, got True"),
])
def test_a_layer_with_no_units_or_a_bad_kernel_is_refused_when_built(build, message):
    """Conv2d(1, 2, 0), Conv2d(0, 2, 3) and Linear(0, 2) were a ZeroDivisionError from the initialisation; a
    stride of 0 or a channel count of 0 built a layer that failed only at its first call."""
    with pytest.raises(ValueError, match=f"^{message}"):
        build()


def test_numpys_integers_are_whole_numbers_to_the_layers_and_ops():
    """A size read from an array's shape or a NumPy computation is a NumPy integer: every size, axis and
    geometry argument takes it as Python's own (a convolution's kernel size and stride were refused)."""
    three, two = numpy.int64(3), numpy.int32(2)
    assert nn.Linear(three, 2).weight.shape == (2, 3)
    assert nn.Conv2d(1, 2, three, stride=two)(minigan.randn(1, 1, 5, 5)).shape == (1, 2, 2, 2)
    assert nn.ConvTranspose2d(1, 2, (three, three))(minigan.randn(1, 1, 2, 2)).shape == (1, 2, 4, 4)
    assert nn.LayerNorm(three)(minigan.randn(2, 3)).shape == (2, 3)
    assert minigan.randn(2, 3).sum(numpy.int64(1)).shape == (2,)
    from minigan.ops.conv import int_pair
    assert [type(v) for v in int_pair(two, "stride", "conv2d") + int_pair((three, 1), "kernel_size", "conv2d")] \
        == [int] * 4   # what the CUDA kernels take as their own int32 arguments


def test_a_layer_used_twice_gives_its_parameters_once_and_its_state_under_each_name_as_torch():
    """parameters() gave a shared layer's weights twice, so Adam(model.parameters()) refused the model."""
    torch = import_torch()
    shared, twin = nn.Linear(2, 2), torch.nn.Linear(2, 2)
    ours, theirs = nn.Sequential(shared, nn.ReLU(), shared), torch.nn.Sequential(twin, torch.nn.ReLU(), twin)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert gan.count_parameters(ours) == sum(p.numel() for p in theirs.parameters()) == 6
    optimizer = optim.Adam(ours.parameters(), lr=0.1)
    ours(minigan.randn(3, 2)).sum().backward()
    before = shared.weight.numpy().copy()
    optimizer.step()
    assert not numpy.array_equal(before, shared.weight.numpy())


@pytest.mark.parametrize("fill, error, message", [
    (lambda w: nn.init.normal_(w, 0.0, -1.0), ValueError, "normal_: std must be 0 or more, got -1.0"),
    (lambda w: nn.init.normal_(w, float("nan")), ValueError, "normal_: mean must be a finite number, got nan"),
    (lambda w: nn.init.uniform_(w, 1.0, 0.0), ValueError, "uniform_: a must be at most b, got a=1.0, b=0.0"),
    (lambda w: nn.init.uniform_(minigan.tensor([1, 2])), TypeError,
     "uniform_: its draws are fractional, but the tensor is int64"),
    (lambda w: nn.init.constant_(w.numpy(), 1.0), TypeError,
     "constant_: fills a minigan tensor in place, got a ndarray"),
])
def test_initialisers_name_what_they_cannot_fill(fill, error, message):
    """These were NumPy's 'scale < 0', an AttributeError, or integers cut from fractional draws."""
    weight = nn.Linear(3, 2).weight
    before = weight.numpy().copy()
    with pytest.raises(error) as raised:
        fill(weight)
    assert str(raised.value) == message
    numpy.testing.assert_array_equal(weight.numpy(), before)


def test_apply_requires_grad_and_zero_grad_follow_torch():
    """PyTorch's DCGAN example starts with `netG.apply(weights_init)`; each of these was an AttributeError or a
    TypeError."""
    torch = import_torch()
    ours = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Sequential(nn.Linear(3, 1)))
    theirs = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Sequential(torch.nn.Linear(3, 1)))
    seen_ours, seen_theirs = [], []
    assert ours.apply(lambda m: seen_ours.append(type(m).__name__)) is ours
    theirs.apply(lambda m: seen_theirs.append(type(m).__name__))
    assert seen_ours == seen_theirs
    ours.apply(lambda m: nn.init.zeros_(m.bias) if isinstance(m, nn.Linear) else None)
    assert all(not m.bias.numpy().any() for m in ours.modules() if isinstance(m, nn.Linear))

    assert ours.requires_grad_(False) is ours and not any(p.requires_grad for p in ours.parameters())
    ours.requires_grad_()
    assert all(p.requires_grad for p in ours.parameters())

    opt = optim.Adam(ours.parameters())
    for zero_grad in (ours.zero_grad, opt.zero_grad):
        ours(minigan.ones(4, 2)).sum().backward()
        first = ours[0].weight.grad.numpy().copy()
        zero_grad(set_to_none=False)
        assert ours[0].weight.grad.numpy().tolist() == [[0.0, 0.0]] * 3
        ours(minigan.ones(4, 2)).sum().backward()   # accumulates onto the zeros: the same gradient again
        numpy.testing.assert_array_equal(ours[0].weight.grad.numpy(), first)
        zero_grad()
        assert ours[0].weight.grad is None
    with pytest.raises(TypeError, match="set_to_none must be True or False, got None"):
        opt.zero_grad(None)


def test_loss_modules_match_torch_and_name_a_bad_reduction():
    torch = import_torch()
    rng = numpy.random.default_rng(0)
    logits, targets, labels = rng.standard_normal((5, 3)), rng.random((5, 3)), numpy.array([0, 2, 1, 1, 0])
    for name, target in (("BCEWithLogitsLoss", targets), ("MSELoss", targets), ("CrossEntropyLoss", labels)):
        for reduction in ("mean", "sum", "none"):
            ours = getattr(nn, name)(reduction=reduction)(minigan.tensor(logits), minigan.tensor(target))
            theirs = getattr(torch.nn, name)(reduction=reduction)(torch.tensor(logits), torch.tensor(target))
            numpy.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)
        assert repr(getattr(nn, name)(reduction="sum")) == f"{name}(reduction='sum')"
        with pytest.raises(ValueError, match=f"{name}: reduction must be one of .*, got 'avg'"):
            getattr(nn, name)(reduction="avg")

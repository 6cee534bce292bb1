"""The losses after the minimax game and the penalties that keep a critic in bounds: each loss against its
formula; the gradient penalty and R1 against PyTorch (torch.autograd.grad with create_graph=True) on the same
DCGAN critic, batch and e, float64, with and without layer norm and spectral norm; the whole critic loss's
second derivatives against finite differences; and the combinations that are refused."""
import numpy
import pytest

import minigan
from minigan import gan, nn
from tests.support import import_torch, leaf

# --------------------------------------------------------------------------- the losses against their formulas


def scores(*values):
    return leaf(numpy.array(values))


REAL, FAKE = (2.0, -1.0, 0.5), (-3.0, 0.2)
FORMULAS = {   # (D's loss, G's loss) on numpy arrays of D's outputs
    "wgan": (lambda r, f: f.mean() - r.mean(), lambda f: -f.mean()),
    "hinge": (lambda r, f: numpy.maximum(0, 1 - r).mean() + numpy.maximum(0, 1 + f).mean(), lambda f: -f.mean()),
    "lsgan": (lambda r, f: 0.5 * ((r - 1) ** 2).mean() + 0.5 * (f ** 2).mean(), lambda f: 0.5 * ((f - 1) ** 2).mean()),
}


@pytest.mark.parametrize("loss", sorted(FORMULAS))
def test_each_loss_is_its_formula(loss):
    real, fake = scores(*REAL), scores(*FAKE)
    d_formula, g_formula = FORMULAS[loss]
    expected = d_formula(real.numpy(), fake.numpy())
    assert gan.discriminator_loss(real, fake, loss).item() == pytest.approx(expected, rel=1e-12)
    assert gan.generator_loss(fake, loss).item() == pytest.approx(g_formula(fake.numpy()), rel=1e-12)


HALVES = {   # (real half, fake half) of D's loss on numpy arrays of D's outputs
    "nonsaturating": (lambda r: numpy.logaddexp(0, -r).mean(), lambda f: numpy.logaddexp(0, f).mean()),
    "minimax": (lambda r: numpy.logaddexp(0, -r).mean(), lambda f: numpy.logaddexp(0, f).mean()),
    "wgan": (lambda r: -r.mean(), lambda f: f.mean()),
    "hinge": (lambda r: numpy.maximum(0, 1 - r).mean(), lambda f: numpy.maximum(0, 1 + f).mean()),
    "lsgan": (lambda r: 0.5 * ((r - 1) ** 2).mean(), lambda f: 0.5 * (f ** 2).mean()),
}


@pytest.mark.parametrize("loss", gan.LOSSES)
def test_ds_loss_is_its_real_half_plus_its_fake_half(loss):
    """train_step differentiates the two halves one after the other; their sum is D's loss, to the last bit."""
    real, fake = scores(*REAL), scores(*FAKE)
    real_half, fake_half = HALVES[loss]
    assert gan.real_loss(real, loss).item() == pytest.approx(real_half(real.numpy()), rel=1e-12)
    assert gan.fake_loss(fake, loss).item() == pytest.approx(fake_half(fake.numpy()), rel=1e-12)
    halves = gan.real_loss(real, loss) + gan.fake_loss(fake, loss)
    assert halves.item() == gan.discriminator_loss(real, fake, loss).item()
    if loss in gan.PROBABILITY_LOSSES:   # one-sided label smoothing aims the real half at 1 - s
        smoothed = numpy.logaddexp(0, real.numpy()).mean() - 0.9 * real.numpy().mean()
        assert gan.real_loss(real, loss, 0.1).item() == pytest.approx(smoothed, rel=1e-12)


@pytest.mark.parametrize("loss", sorted(FORMULAS))
def test_each_loss_has_first_and_second_derivatives(loss):
    real, fake = scores(1.5, -0.3, 4.0), scores(-2.0, 0.7)   # away from the hinge's kinks at +-1
    for f in (lambda r, f: gan.discriminator_loss(r, f, loss), lambda r, f: gan.generator_loss(f, loss) + 0 * r.sum()):
        assert minigan.gradcheck(f, [real, fake])
        assert minigan.gradgradcheck(f, [real, fake])


# --------------------------------------------------------------------------- the penalties against PyTorch

def torch_twin(torch, D):
    """The PyTorch critic with D's layers and values (weights, layer-norm parameters, spectral norm's u, v)."""
    layers = []
    for m in D.main:
        sn = m if isinstance(m, nn.SpectralNorm) else None
        m = sn.layer if sn else m
        if isinstance(m, nn.Conv2d):
            t = torch.nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding, bias=False)
        elif isinstance(m, nn.LayerNorm):
            t = torch.nn.LayerNorm(m.normalized_shape)
        elif isinstance(m, nn.LeakyReLU):
            t = torch.nn.LeakyReLU(m.negative_slope)
        else:
            raise AssertionError(f"no twin for {type(m).__name__}")
        t = t.double()
        with torch.no_grad():
            for name, p in m._parameters.items():
                getattr(t, name).copy_(torch.tensor(p.numpy()))
        if sn:
            t = torch.nn.utils.parametrizations.spectral_norm(t)
            with torch.no_grad():
                t.parametrizations.weight[0]._u.copy_(torch.tensor(sn.u.numpy()))
                t.parametrizations.weight[0]._v.copy_(torch.tensor(sn.v.numpy()))
        layers.append(t)
    return torch.nn.Sequential(*layers)


def critic(norm, spectral_norm, ndf=64):
    minigan.manual_seed(0)
    D = gan.DCGANDiscriminator(ndf, norm=norm, spectral_norm=spectral_norm).double()
    rng = numpy.random.default_rng(5)
    for m in D.modules():
        if isinstance(m, nn.LayerNorm):   # away from ones and zeros, so that a lost term would show
            m.weight.data[...] = 1 + 0.3 * rng.standard_normal(m.weight.shape)
            m.bias.data[...] = 0.3 * rng.standard_normal(m.bias.shape)
    return D


def torch_parameters(t):
    """The twin's trained tensors in the order of D.parameters() (a spectral norm's 'original' weight)."""
    out = []
    for layer in t:
        if hasattr(layer, "parametrizations"):
            out.append(layer.parametrizations.weight.original)
        else:
            out.extend(layer.parameters())
    return out


CRITICS = [("none", False), ("layer", False), ("none", True), ("layer", True)]


@pytest.mark.parametrize("norm,spectral", CRITICS, ids=[f"{n}-norm{'-spectral' if s else ''}" for n, s in CRITICS])
def test_gradient_penalty_and_its_gradient_match_torch(norm, spectral):
    torch = import_torch()
    D = critic(norm, spectral)
    T = torch_twin(torch, D)
    rng = numpy.random.default_rng(0)
    real, fake = rng.uniform(-1, 1, (6, 1, 28, 28)), rng.uniform(-1, 1, (6, 1, 28, 28))
    e = rng.random(6)

    penalty = gan.gradient_penalty(D, minigan.tensor(real), minigan.tensor(fake), e=minigan.tensor(e))
    grads = minigan.grad(penalty, list(D.parameters()), allow_unused=True)   # unused: layer norm's bias

    te = torch.tensor(e).reshape(-1, 1, 1, 1)
    x_hat = (te * torch.tensor(real) + (1 - te) * torch.tensor(fake)).requires_grad_()
    (g,) = torch.autograd.grad(T(x_hat).sum(), [x_hat], create_graph=True)
    t_penalty = ((g.flatten(1).norm(2, dim=1) - 1) ** 2).mean()
    t_grads = torch.autograd.grad(t_penalty, torch_parameters(T), allow_unused=True)

    assert penalty.item() == pytest.approx(t_penalty.item(), rel=1e-8)
    assert_same_gradients(grads, t_grads)


def assert_same_gradients(grads, t_grads):
    """Each parameter's gradient alike in both (None, for a parameter the penalty does not depend on, as zeros:
    layer norm's bias shifts D's output, not its gradient)."""
    assert len(grads) == len(t_grads)
    for i, (ours, theirs) in enumerate(zip(grads, t_grads)):
        ours = 0 if ours is None else ours.numpy()
        theirs = 0 if theirs is None else theirs.numpy()
        numpy.testing.assert_allclose(ours, theirs, rtol=1e-8, atol=1e-12, err_msg=f"parameter {i}")
    assert max(numpy.abs(t.numpy()).max() for t in t_grads if t is not None) > 1e-6   # not all zero


@pytest.mark.parametrize("norm,spectral", CRITICS[1:2] + CRITICS[3:], ids=["layer-norm", "layer-norm-spectral"])
def test_r1_penalty_and_its_gradient_match_torch(norm, spectral):
    torch = import_torch()
    D = critic(norm, spectral)
    T = torch_twin(torch, D)
    real = numpy.random.default_rng(1).uniform(-1, 1, (5, 1, 28, 28))
    x = leaf(real)
    penalty = gan.r1_penalty(D(x), x)
    grads = minigan.grad(penalty, list(D.parameters()), allow_unused=True)
    tx = torch.tensor(real, requires_grad=True)
    (g,) = torch.autograd.grad(T(tx).sum(), [tx], create_graph=True)
    t_penalty = (g.flatten(1) ** 2).sum(1).mean()
    t_grads = torch.autograd.grad(t_penalty, torch_parameters(T), allow_unused=True)
    assert penalty.item() == pytest.approx(t_penalty.item(), rel=1e-8)
    assert_same_gradients(grads, t_grads)


# --------------------------------------------------------------------------- second derivatives of the whole loss

class SmallCritic(nn.Module):
    """8 x 8 images -> conv 4x4 stride 2 -> layer norm -> leaky ReLU -> conv 4x4 -> one score."""

    def __init__(self, spectral_norm=False):
        super().__init__()
        wrap = nn.spectral_norm if spectral_norm else (lambda m: m)
        self.main = nn.Sequential(wrap(nn.Conv2d(1, 2, 4, 2, 1, bias=False)), nn.LayerNorm((2, 4, 4)),
                                  nn.LeakyReLU(0.2), wrap(nn.Conv2d(2, 1, 4, bias=False)))

    def forward(self, x, labels=None):
        return self.main(x).reshape(-1)


@pytest.mark.parametrize("spectral", [False, True], ids=["plain", "spectral"])
def test_the_whole_critic_loss_has_second_derivatives(spectral):
    """WGAN-GP's critic loss E[D(G(z))] - E[D(x)] + 10 GP, its gradient and second derivatives with respect to
    every critic weight against finite differences (spectral norm in eval mode: u, v fixed)."""
    minigan.manual_seed(0)
    D = SmallCritic(spectral).double()
    D.train(not spectral)
    rng = numpy.random.default_rng(2)
    real, fake = (minigan.tensor(rng.uniform(-1, 1, (3, 1, 8, 8))) for _ in range(2))
    e = minigan.tensor(rng.random(3))
    loss = lambda *weights: (gan.discriminator_loss(D(real), D(fake), "wgan")  # noqa: E731
                             + 10 * gan.gradient_penalty(D, real, fake, e=e))
    weights = list(D.parameters())
    assert minigan.gradcheck(loss, weights)
    assert minigan.gradgradcheck(loss, weights)


# --------------------------------------------------------------------------- what is refused

def test_a_penalty_on_a_critic_with_batch_norm_is_refused_saying_why():
    D = gan.DCGANDiscriminator(8)   # the reference discriminator: batch norm
    x = minigan.randn(2, 1, 28, 28)
    with pytest.raises(ValueError, match="batch norm, which mixes the samples.*--d-norm layer"):
        gan.gradient_penalty(D, x, x)


def test_train_step_refuses_r1_on_a_discriminator_with_batch_norm():
    G, D = gan.build_models(gan.default_config(ngf=4, ndf=4, nz=8))
    opt_G, opt_D = (minigan.optim.Adam(m.parameters()) for m in (G, D))
    batches = iter([(minigan.randn(2, 1, 28, 28), None)])
    with pytest.raises(ValueError, match="the R1 penalty penalizes each sample's gradient"):
        gan.train_step(G, D, opt_G, opt_D, batches, lambda n: minigan.randn(n, 8), r1=10.0)


def test_r1_needs_the_real_batch_to_require_grad():
    D = SmallCritic()
    x = minigan.randn(2, 1, 8, 8)
    with pytest.raises(ValueError, match="must require grad"):
        gan.r1_penalty(D(x), x)


def test_bad_loss_options_are_named():
    with pytest.raises(ValueError, match="unknown loss 'softmax'"):
        gan.generator_loss(scores(0.0), "softmax")
    with pytest.raises(ValueError, match="the wgan loss has no probabilities"):
        gan.discriminator_loss(scores(0.0), scores(0.0), "wgan", label_smoothing=0.1)


def test_clipping_holds_every_critic_weight_in_bounds():
    D = gan.DCGANDiscriminator(8, norm="none")
    gan.clip_weights_(D, 0.01)
    assert max(numpy.abs(p.numpy()).max() for p in D.parameters()) == pytest.approx(0.01)


@pytest.mark.parametrize("norm", ["layer", "none"])
def test_a_penalty_lays_each_convolutions_input_out_as_columns_once(norm, monkeypatch):
    """The penalty's grad() walks D's graph for the input alone, and its backward walks the same graph again for
    the weights: the columns of each convolution's input, made in the forward pass, must serve both walks (the
    first walk let them go, and the second made them again: 2 ms of a 64-image critic step)."""
    from minigan import kernels
    laid_out, im2col = [], kernels.im2col   # the arrays themselves, kept alive: no id is used twice
    monkeypatch.setattr(kernels, "im2col", lambda x, *args, **kw: laid_out.append(x) or im2col(x, *args, **kw))
    D = critic(norm, False, ndf=8)
    rng = numpy.random.default_rng(0)
    real, fake = (minigan.tensor(rng.uniform(-1, 1, (4, 1, 28, 28))) for _ in range(2))
    gan.gradient_penalty(D, real, fake).backward()
    assert len(laid_out) >= 3   # D's three convolutions in the forward pass, at least
    assert len({id(x) for x in laid_out}) == len(laid_out)


def test_a_penalty_makes_no_gradient_for_its_mixed_batch(monkeypatch):
    """x_hat, the mix of real and fake that the penalty makes for itself, needs its gradient once, in grad(); the
    loss's backward then makes none for it, which spares D's first layer one transposed convolution (col2im onto
    an image-shaped array) that nothing would read."""
    from minigan import kernels
    onto_images, col2im = [], kernels.col2im
    monkeypatch.setattr(kernels, "col2im", lambda col, size, *args: onto_images.append(tuple(size) == (28, 28)
                                                                                       and col.shape[0] == 1)
                        or col2im(col, size, *args))
    D = critic("layer", False, ndf=8)
    rng = numpy.random.default_rng(0)
    real, fake = (minigan.tensor(rng.uniform(-1, 1, (4, 1, 28, 28))) for _ in range(2))
    gan.gradient_penalty(D, real, fake).backward()
    assert sum(onto_images) == 1
    assert all(p.grad is not None for p in D.parameters() if p.requires_grad and p.ndim == 4)

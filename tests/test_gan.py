"""The GAN's pieces: losses as the value function, the players, gradients through a whole G -> D graph,
and a short game on a toy distribution that moves as the theory says."""
import math
import re

import numpy
import pytest

import minigan
from minigan import data, gan, nn, optim
from tests.support import leaf


def logits(*values):
    return leaf(numpy.array(values))


def test_losses_are_the_value_function_on_logits():
    real, fake = logits(2.0, -1.0, 0.5), logits(-3.0, 0.2)
    sig = lambda a: 1 / (1 + numpy.exp(-a))  # noqa: E731
    expected_v = numpy.log(sig(real.numpy())).mean() + numpy.log(1 - sig(fake.numpy())).mean()
    assert gan.value_function(real, fake).item() == pytest.approx(expected_v, rel=1e-12)
    assert gan.discriminator_loss(real, fake).item() == pytest.approx(-expected_v, rel=1e-12)
    assert gan.generator_loss(fake, "minimax").item() == pytest.approx(numpy.log(1 - sig(fake.numpy())).mean())
    assert gan.generator_loss(fake, "nonsaturating").item() == pytest.approx(-numpy.log(sig(fake.numpy())).mean())
    smoothed = gan.discriminator_loss(real, fake, label_smoothing=0.1).item()
    r = real.numpy()
    expected = -(0.9 * numpy.log(sig(r)) + 0.1 * numpy.log(1 - sig(r))).mean() - numpy.log(1 - sig(fake.numpy())).mean()
    assert smoothed == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("loss", [
    lambda r, f: gan.discriminator_loss(r, f), lambda r, f: gan.discriminator_loss(r, f, label_smoothing=0.2),
    lambda r, f: gan.generator_loss(f, "minimax"), lambda r, f: gan.generator_loss(f, "nonsaturating"),
    lambda r, f: gan.value_function(r, f)], ids=["D", "D-smoothed", "G-minimax", "G-nonsaturating", "V"])
def test_loss_gradients_match_finite_differences(loss):
    real, fake = logits(1.5, -0.3, 4.0), logits(-2.0, 0.7)
    assert minigan.gradcheck(loss, [real, fake])
    assert minigan.gradgradcheck(loss, [real, fake])


def test_the_minimax_loss_saturates_where_the_nonsaturating_one_does_not():
    """Early in training D rejects fakes confidently (logit -8): d loss / d logit is ~sigmoid(-8) for the
    paper's minimax form, but ~1 for the non-saturating form (Goodfellow et al., section 3)."""
    fake = logits(-8.0)
    (g_minimax,) = minigan.grad(gan.generator_loss(fake, "minimax"), fake)
    (g_nonsat,) = minigan.grad(gan.generator_loss(fake, "nonsaturating"), fake)
    assert abs(g_minimax.item()) < 1e-3 and abs(g_nonsat.item()) > 0.99


def test_label_smoothing_out_of_range_is_named():
    with pytest.raises(ValueError, match="label_smoothing must be in"):
        gan.discriminator_loss(logits(0.0), logits(0.0), label_smoothing=1.0)


@pytest.mark.parametrize("size", [28, 32, 64])
@pytest.mark.parametrize("conditional", [False, True])
@pytest.mark.parametrize("channels", [1, 3])
def test_dcgan_shapes_for_each_image_size(size, conditional, channels):
    G = gan.DCGANGenerator(nz=10, ngf=4, image_size=size, channels=channels, conditional=conditional)
    D = gan.DCGANDiscriminator(ndf=4, image_size=size, channels=channels, conditional=conditional)
    labels = minigan.tensor([3, 7]) if conditional else None
    images = G(minigan.randn(2, 10), labels)
    assert images.shape == (2, channels, size, size)
    assert D(images, labels).shape == (2,)


def test_the_64_pixel_players_have_radford_et_als_layout():
    """G: nz -> 4x4x8ngf -> 8x8x4ngf -> 16x16x2ngf -> 32x32xngf -> 64x64xc; D its mirror (Radford et al., Fig. 1)."""
    G = gan.DCGANGenerator(nz=100, ngf=8, image_size=64, channels=3)
    D = gan.DCGANDiscriminator(ndf=8, image_size=64, channels=3)
    shapes, x = [], minigan.randn(2, 100).reshape(2, 100, 1, 1)
    for m in G.main:
        x = m(x)
        if isinstance(m, nn.ConvTranspose2d):
            shapes.append(x.shape[1:])
    assert shapes == [(64, 4, 4), (32, 8, 8), (16, 16, 16), (8, 32, 32), (3, 64, 64)]
    shapes = []
    for m in D.main:
        x = m(x)
        if isinstance(m, nn.Conv2d):
            shapes.append(x.shape[1:])
    assert shapes == [(8, 32, 32), (16, 16, 16), (32, 8, 8), (64, 4, 4), (1, 1, 1)]


def test_the_default_dcgan_is_the_reference_architecture():
    G, D = gan.build_models(gan.default_config())
    assert gan.count_parameters(G) == 100 * 256 * 49 + 2 * 256 + 256 * 128 * 16 + 2 * 128 + 128 * 16
    assert gan.count_parameters(D) == 64 * 16 + 64 * 128 * 16 + 2 * 128 + 128 * 49
    convs = [m for m in G.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert [(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding) for m in convs] == \
        [(100, 256, (7, 7), 1, 0), (256, 128, (4, 4), 2, 1), (128, 1, (4, 4), 2, 1)]
    weights = numpy.concatenate([m.weight.numpy().ravel() for m in convs])
    assert abs(weights.std() - 0.02) < 0.001 and abs(weights.mean()) < 0.001
    scales = numpy.concatenate([m.weight.numpy() for m in G.modules() if isinstance(m, nn.BatchNorm2d)])
    assert abs(scales.mean() - 1) < 0.01 and 0.01 < scales.std() < 0.03


def test_mlp_players_and_their_errors():
    G, D = gan.MLPGenerator(nz=8), gan.MLPDiscriminator()
    assert G(minigan.randn(3, 8)).shape == (3, 1, 28, 28) and D(G(minigan.randn(3, 8))).shape == (3,)
    assert any(isinstance(m, nn.Dropout) for m in D.modules())
    cG = gan.MLPGenerator(nz=8, conditional=True)
    with pytest.raises(ValueError, match="is conditional: pass the class labels"):
        cG(minigan.randn(3, 8))
    with pytest.raises(ValueError, match="not conditional: do not pass labels"):
        G(minigan.randn(3, 8), minigan.tensor([1, 2, 3]))
    with pytest.raises(ValueError, match="image_size must be one of \\[28, 32, 64\\], got 48"):
        gan.DCGANGenerator(image_size=48)
    with pytest.raises(ValueError, match="unknown architecture 'vae'"):
        gan.build_models(gan.default_config(arch="vae"))


@pytest.mark.parametrize("arch", ["dcgan", "mlp"])
def test_the_players_refuse_an_input_of_another_shape_than_they_were_built_for(arch):
    """A 28-pixel DCGAN discriminator read 32-pixel images as four windows each and returned four scores per
    image; a generator given the wrong noise size failed deep inside a product."""
    G, D = gan.build_models(gan.default_config(arch=arch, nz=8, ngf=4, ndf=4))
    for shape in [(2, 1, 32, 32), (2, 3, 28, 28)]:
        with pytest.raises(ValueError, match=rf"Discriminator: built for input \(n, 1, 28, 28\), got shape "
                                             rf"{re.escape(str(shape))}$"):
            D(minigan.randn(*shape))
    with pytest.raises(ValueError, match=r"Generator: built for input \(n, 8\).*, got shape \(2, 100\)$"):
        G(minigan.randn(2, 100))
    assert D(G(minigan.randn(2, 8))).shape == (2,)


def test_a_dcgan_generator_takes_noise_shaped_as_torchs_dcgan_example_does():
    G = gan.build_models(gan.default_config(nz=8, ngf=4, ndf=4, conditional=True))[0]
    z, labels = minigan.randn(3, 8), minigan.tensor([0, 4, 9])
    numpy.testing.assert_array_equal(G(z.reshape(3, 8, 1, 1), labels).numpy(), G(z, labels).numpy())


def test_the_picture_helpers_take_tensors_and_name_what_they_refuse(tmp_path):
    """generate, to_pixels and save_grid took only NumPy arrays: a tensor was a ValueError from NumPy ('setting an
    array element with a sequence'); a file name ending in .txt was Pillow's KeyError."""
    G = gan.build_models(gan.default_config(nz=8, ngf=4, ndf=4))[0]
    z = minigan.randn(4, 8)
    images = gan.generate(G, z)
    numpy.testing.assert_array_equal(images, gan.generate(G, z.numpy()))
    numpy.testing.assert_array_equal(gan.to_pixels(minigan.tensor(images)), gan.to_pixels(images))
    assert (tmp_path / "a.png").exists() is False and gan.save_grid(minigan.tensor(images), tmp_path / "a.png")
    for bad, message in [(dict(images=images[:, 0]), r"a grid takes images \(n, c, h, w\), at least one; got shape"),
                         (dict(images=images, nrow=0), "a grid's nrow must be a whole number, at least 1; got 0"),
                         (dict(images=images, path=str(tmp_path / "a.txt")), "a.txt: a picture's name must end in")]:
        with pytest.raises(ValueError, match=message):
            gan.save_grid(**{"path": str(tmp_path / "b.png"), **bad})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png"]


def test_gradients_through_a_whole_generator_and_discriminator():
    """d D(G(z)) / d (z, a weight of G, a weight of D) against finite differences, in float64, with batch
    norm in training mode in both players (the statistics depend on the whole batch)."""
    minigan.manual_seed(0)
    G = gan.DCGANGenerator(nz=3, ngf=1, image_size=28).double()
    D = gan.DCGANDiscriminator(ndf=2, image_size=28).double()
    z = leaf(numpy.random.default_rng(0).standard_normal((2, 3)))
    g_weight, d_weight = G.main[3].weight, D.main[0].weight
    for p in list(G.parameters()) + list(D.parameters()):
        if p is not g_weight and p is not d_weight:
            p.requires_grad = False

    def game(z, g_weight, d_weight):
        return D(G(z))

    assert minigan.gradcheck(game, [z, g_weight, d_weight], atol=1e-6, rtol=1e-4)


def test_a_toy_game_moves_as_the_theory_says():
    """Data N(4, 1.25^2) on the line; G starts near N(0, 0.3^2). With G held fixed, D first learns to tell
    the two apart (its accuracy nears 1, as the optimal D = p_data / (p_data + p_g) would). Then the game:
    G's samples move to the data (mean and spread approach 4 and 1.25) and D's accuracy falls to chance,
    the equilibrium's D = 1/2."""
    class Critic(nn.Module):
        def __init__(self):
            super().__init__()
            self.main = nn.Sequential(nn.Linear(1, 32), nn.LeakyReLU(0.2), nn.Linear(32, 1))

        def forward(self, x, labels=None):
            return self.main(x).reshape(-1)

    class Player(nn.Module):
        def __init__(self):
            super().__init__()
            self.main = nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Linear(32, 1))

        def forward(self, z, labels=None):
            return self.main(z)

    minigan.manual_seed(1)
    G = Player()
    D = Critic()
    opt_G, opt_D = optim.Adam(G.parameters(), 2e-3, (0.5, 0.999)), optim.Adam(D.parameters(), 5e-3, (0.5, 0.999))
    rng = numpy.random.default_rng(0)

    def real_batch():
        return minigan.tensor(rng.normal(4.0, 1.25, (128, 1)).astype(numpy.float32))

    def accuracy():
        with minigan.no_grad():
            r, f = D(real_batch()).numpy(), D(G(minigan.randn(512, 4))).numpy()
        return ((r > 0).mean() + (f < 0).mean()) / 2

    def fake_stats():
        with minigan.no_grad():
            x = G(minigan.randn(4000, 4)).numpy()
        return x.mean(), x.std()

    def real_batches():
        while True:
            yield real_batch(), None

    def noise(n):
        return minigan.randn(n, 4)

    start_mean, start_std = fake_stats()
    reals = real_batches()
    gan.train_step(G, D, opt_G, opt_D, reals, noise, k=50)   # (1) D alone for 50 steps, then G's first step
    assert accuracy() > 0.95
    for _ in range(1000):                                     # (2) the game
        gan.train_step(G, D, opt_G, opt_D, reals, noise)
    mean, std = fake_stats()
    assert abs(start_mean - 4) > 3 and start_std < 0.5   # G started far from the data
    assert abs(mean - 4) < 0.3 and 0.9 < std < 1.6
    assert 0.4 < accuracy() < 0.6


def test_the_generator_step_reuses_the_fake_batch_or_draws_fresh_noise_as_asked():
    minigan.manual_seed(0)
    G, D = gan.build_models(gan.default_config(arch="mlp", nz=4))
    opt_G, opt_D = optim.Adam(G.parameters()), optim.Adam(D.parameters())
    batches = data.Batches(*data.load_embedded(), 8, seed=0)
    drawn = []

    def noise(n):
        drawn.append(n)
        return gan.sample_noise(n, 4)
    for fresh, expected in ((False, [8, 8]), (True, [8, 8, 8])):
        drawn.clear()
        figures = gan.train_step(G, D, opt_G, opt_D, batches, noise, k=2, fresh_noise=fresh)
        assert drawn == expected, fresh   # k batches for D's steps, and one more for G's when fresh
        assert set(figures) == set(gan.FIGURES)
        assert all(numpy.isfinite(v.item()) for v in figures.values())


def test_the_discriminator_is_frozen_only_inside_the_block():
    D = gan.MLPDiscriminator()
    with gan.frozen(D):
        assert not any(p.requires_grad for p in D.parameters())
    assert all(p.requires_grad for p in D.parameters())
    with pytest.raises(RuntimeError), gan.frozen(D):
        raise RuntimeError("a failing backward")
    assert all(p.requires_grad for p in D.parameters())


def test_non_finite_loss_names_the_step_and_player():
    with pytest.raises(gan.TrainingDiverged, match="step 12: the generator's loss is nan"):
        gan.to_numbers({"loss_D": minigan.tensor(0.5), "loss_G": minigan.tensor(math.nan)}, 12)


@pytest.mark.parametrize("penalty", [{}, {"gp": 10.0}, {"r1": 10.0}])
def test_ds_graph_on_the_real_batch_is_freed_before_it_sees_the_fake_batch(penalty):
    """train_step runs the backward of the real half of D's loss before D's pass on the fake batch, so the two
    passes' graphs never coexist; and the gradients of the two halves add up to the whole loss's."""
    minigan.manual_seed(0)
    G, D = gan.build_models(gan.default_config(arch="mlp", nz=4, d_norm="layer" if penalty else "batch"))
    freed = []

    class Watched(minigan.nn.Module):
        def __init__(self):
            super().__init__()
            self.D, self.last = D, None

        def forward(self, x, labels=None):
            if self.last is not None:
                freed.append(self.last.creator.inputs is None)
            self.last = self.D(x, labels)
            return self.last
    watched = Watched()
    opt_D = optim.SGD(D.parameters(), lr=0.0)   # D unchanged: its gradient is compared below
    batches = data.Batches(*data.load_embedded(), 8, seed=0)
    real, _ = next(data.Batches(*data.load_embedded(), 8, seed=0))
    gan.train_step(G, watched, optim.SGD(G.parameters(), lr=0.0), opt_D, batches,
                   lambda n: gan.sample_noise(n, 4), **penalty)
    assert freed[0]   # when D sees the fake batch (its second call), its graph on the real batch is freed
    if "gp" not in penalty:   # ... and the fake batch's before G's step (the gradient penalty's pass is between)
        assert freed == [True, True]
    got = [p.grad.numpy().copy() for p in D.parameters()]
    minigan.manual_seed(0)   # the same fake batch and penalty draws again, and D's whole loss in one backward
    gan.build_models(gan.default_config(arch="mlp", nz=4))   # the same draws as above, before the noise
    fake = G(gan.sample_noise(8, 4)).detach()
    for p in D.parameters():
        p.grad = None
    x = real.detach().requires_grad_()
    real_scores = D(x)
    whole = gan.discriminator_loss(real_scores, D(fake))
    if penalty.get("gp"):
        whole = whole + 10.0 * gan.gradient_penalty(D, real, fake)
    if penalty.get("r1"):
        whole = whole + 5.0 * gan.r1_penalty(real_scores, x)
    whole.backward()
    for g, p in zip(got, D.parameters()):
        numpy.testing.assert_allclose(g, p.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_grad_norm_is_the_norm_of_all_gradients_together():
    minigan.manual_seed(0)
    G, D = gan.build_models(gan.default_config(nz=8, ngf=4, ndf=4))
    assert gan.grad_norm(D) is None   # no backward yet
    D(G(minigan.randn(6, 8, 1, 1))).sum().backward()
    for model in (G, D):
        grads = [p.grad.numpy().astype(numpy.float64).ravel() for p in model.parameters()]
        expected = math.sqrt(sum(g @ g for g in grads))
        norm = gan.grad_norm(model)
        assert norm.shape == () and not norm.requires_grad
        assert float(norm.item()) == pytest.approx(expected, rel=1e-5)

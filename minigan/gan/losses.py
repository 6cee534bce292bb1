"""The players' losses: the minimax game's value function on logits, the losses that came after it (a
Wasserstein critic's, hinge, least squares), and the penalties and constraints that keep a critic in bounds.

Goodfellow et al. (2014), eq. 1:  min_G max_D V(D, G) = E_x[log D(x)] + E_z[log(1 - D(G(z)))].
With D(x) = sigmoid(a) for a logit a, the logs are softplus terms, exact for any logit:
    log D = log sigmoid(a) = -softplus(-a),      log(1 - D) = log sigmoid(-a) = -softplus(a).

The other losses read D's output as a score, not a probability (D is then often called a critic):

    loss     D (critic) descends                           G descends              paper
    wgan     E[D(G(z))] - E[D(x)]                          -E[D(G(z))]             Arjovsky et al. (2017)
    hinge    E[relu(1 - D(x))] + E[relu(1 + D(G(z)))]      -E[D(G(z))]             Lim and Ye (2017)
    lsgan    1/2 E[(D(x) - 1)^2] + 1/2 E[D(G(z))^2]        1/2 E[(D(G(z)) - 1)^2]  Mao et al. (2017)

A Wasserstein critic must be kept 1-Lipschitz, by clipping its weights (`clip_weights_`, Arjovsky et al.),
by a gradient penalty (`gradient_penalty`, Gulrajani et al., 2017), or by spectral normalization
(minigan.nn.spectral_norm, Miyato et al., 2018). `r1_penalty` (Mescheder et al., 2018) penalizes D's
gradient on real data under any loss. The two penalties differentiate D's output with respect to its input
inside the loss, so the loss's backward is a second derivative through the whole of D.
"""
from minigan import nn
from minigan.autograd.engine import grad
from minigan.autograd.tensor import enable_grad, no_grad
from minigan.creation import rand
from minigan.ops import mean, relu, softplus, sqrt, sum

LOSSES = ("nonsaturating", "minimax", "wgan", "hinge", "lsgan")
PROBABILITY_LOSSES = ("nonsaturating", "minimax")   # D's output is the logit of a probability
LOSS_CHOICES = (*LOSSES, "wgan-gp")   # what the programs offer: wgan-gp is wgan with a gradient penalty


def played(choice):
    """The loss train_step plays for a program's --loss choice: wgan-gp plays wgan (its penalty, gp, is
    passed to train_step on its own)."""
    return "wgan" if choice == "wgan-gp" else choice


def _check(loss):
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}: expected one of {LOSSES}")


def value_function(real_logits, fake_logits):
    """V(D, G) = E[log D(x)] + E[log(1 - D(G(z)))], estimated on one real and one fake batch."""
    return -mean(softplus(-real_logits)) - mean(softplus(fake_logits))


def discriminator_loss(real, fake, loss="nonsaturating", label_smoothing=0.0):
    """What D descends, given its outputs on a real and a fake batch: a half for each, added up.

    nonsaturating, minimax: D ascends V, so it descends -V = E[-log D(x)] + E[-log(1 - D(G(z)))] (binary
    cross-entropy with targets 1 for real and 0 for fake). One-sided label smoothing (Salimans et al., 2016)
    aims the real target at 1 - label_smoothing instead: E[softplus(a) - (1 - s) a] for the real logits a.
    wgan, hinge, lsgan: the table above."""
    return real_loss(real, loss, label_smoothing) + fake_loss(fake, loss)


def real_loss(real, loss="nonsaturating", label_smoothing=0.0):
    """The real half of D's loss, from its outputs on a real batch: E[-log D(x)] = E[softplus(-a)] for the
    probability losses (with label smoothing, see discriminator_loss), -E[D(x)] for wgan,
    E[relu(1 - D(x))] for hinge, 1/2 E[(D(x) - 1)^2] for lsgan."""
    _check(loss)
    if not 0 <= label_smoothing < 1:
        raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing}")
    if label_smoothing and loss not in PROBABILITY_LOSSES:
        raise ValueError(f"label smoothing aims D's probability for real images below 1; the {loss} loss has "
                         "no probabilities")
    if loss == "wgan":
        return -mean(real)
    if loss == "hinge":
        return mean(relu(1 - real))
    if loss == "lsgan":
        return 0.5 * mean((real - 1) ** 2)
    if label_smoothing == 0:
        return mean(softplus(-real))
    return mean(softplus(real) - (1 - label_smoothing) * real)


def fake_loss(fake, loss="nonsaturating"):
    """The fake half of D's loss, from its outputs on a fake batch: E[-log(1 - D(G(z)))] = E[softplus(a)] for
    the probability losses, E[D(G(z))] for wgan, E[relu(1 + D(G(z)))] for hinge, 1/2 E[D(G(z))^2] for lsgan."""
    _check(loss)
    if loss == "wgan":
        return mean(fake)
    if loss == "hinge":
        return mean(relu(1 + fake))
    if loss == "lsgan":
        return 0.5 * mean(fake ** 2)
    return mean(softplus(fake))


def generator_loss(fake, loss="nonsaturating"):
    """What G descends, given D's outputs on its fake batch.
    minimax:       E[log(1 - D(G(z)))] = -E[softplus(a)], the paper's game; it saturates (its gradient
                   vanishes) while D confidently rejects the fakes, which is early in training.
    nonsaturating: -E[log D(G(z))] = E[softplus(-a)], the paper's practical alternative: same fixed point,
                   strong gradients early.
    wgan, hinge:   -E[D(G(z))];   lsgan: 1/2 E[(D(G(z)) - 1)^2]."""
    _check(loss)
    if loss == "nonsaturating":
        return mean(softplus(-fake))
    if loss == "minimax":
        return -mean(softplus(fake))
    if loss == "lsgan":
        return 0.5 * mean((fake - 1) ** 2)
    return -mean(fake)


# --------------------------------------------------------------------------- keeping a critic in bounds

def refuse_batch_norm(D, penalty):
    """A gradient penalty is a sum over samples of each sample's own gradient; batch norm makes every output
    depend on the whole batch, so the gradient of D(x_i) with respect to x_i is no longer sample i's alone."""
    if any(isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) for m in D.modules()):
        raise ValueError(f"the {penalty} penalizes each sample's gradient, but this discriminator has batch norm, "
                         "which mixes the samples of a batch; use layer norm or no normalization in it "
                         "(the main job: --d-norm layer or --d-norm none)")


def _squared_input_gradient_norms(scores, inputs):
    """Each sample's ||d D(x_i) / d x_i||^2, as a differentiable function of D's weights (create_graph).
    The gradient of sum_i D(x_i) is each sample's own gradient when D treats samples independently."""
    (g,) = grad(sum(scores), [inputs], create_graph=True)
    return sum(g * g, tuple(range(1, g.ndim)))


def gradient_penalty(D, real, fake, labels=None, e=None):
    """E[(||grad D(x_hat)|| - 1)^2] at x_hat = e x + (1 - e) G(z), e ~ U[0, 1] per sample (Gulrajani et al.,
    2017): the critic's gradient norm is held near 1 on lines between real and fake samples, where the
    optimal critic's is exactly 1. `e` (shape (n,)) may be given; it is drawn from minigan's generator
    otherwise. Add lambda times this to the critic's loss (lambda = 10 in the paper)."""
    refuse_batch_norm(D, "gradient penalty")
    n = real.shape[0]
    if e is None:
        e = rand(n, dtype=real.dtype, device=real.device)
    e = e.reshape((n,) + (1,) * (real.ndim - 1))
    with no_grad():
        x_hat = e * real + (1 - e) * fake
    x_hat.requires_grad = True
    with enable_grad():   # the penalty is itself a gradient: it needs a graph even where recording is off
        norms = _squared_input_gradient_norms(D(x_hat, labels), x_hat)
        # x_hat's gradient is made; without requires_grad the loss's backward makes none, and D's first layer is
        # spared an input gradient that nothing would read
        x_hat.requires_grad = False
        return mean((sqrt(norms) - 1) ** 2)


def r1_penalty(real_scores, real):
    """E[||grad D(x)||^2] on real data (Mescheder et al., 2018), from D's outputs `real_scores` on `real`,
    which must have been made with real.requires_grad set. Add gamma / 2 times this to D's loss."""
    if not real.requires_grad:
        raise ValueError("r1_penalty: the real batch must require grad before D reads it "
                         "(set real.requires_grad = True, then call D)")
    return mean(_squared_input_gradient_norms(real_scores, real))   # no square root: no kink at a zero gradient


def clip_weights_(D, c):
    """Clip every parameter of D to [-c, c] in place (Arjovsky et al., 2017: c = 0.01, after each update)."""
    with no_grad():
        for p in D.parameters():
            p.data.clip(-c, c, out=p.data)
            p.mark_modified()

"""Algorithm 1 of Goodfellow et al. (2014), written once: every program that trains a GAN runs `train_step`.

    for k steps:
        sample a real minibatch and a noise minibatch; update D by ascending V(D, G)
    sample a noise minibatch; update G by descending its loss through D

The main job, the two toy worlds, the benchmarks and the quality comparison all call this one function, so
what they time and what they train is the same code. A step's figures come back as Tensors, named by
FIGURES, and become numbers (`to_numbers`) only where they are logged.
"""
import contextlib
import math

from minigan import backend, ops
from minigan.autograd.tensor import Tensor, no_grad, set_grad_enabled
from minigan.creation import randn
from minigan.gan.losses import (
    PROBABILITY_LOSSES, clip_weights_, fake_loss, generator_loss, gradient_penalty, r1_penalty, real_loss,
    refuse_batch_norm)


def figure_names(loss="nonsaturating", penalty=False):
    """The names of the figures train_step returns for `loss` (with a penalty or not): D's mean output as a
    probability where it is one; for a critic, its mean scores and, for wgan, the Wasserstein estimate."""
    if loss in PROBABILITY_LOSSES:
        outputs = ["D(x)", "D(G(z)) before D step", "D(G(z)) after D step"]
    else:
        outputs = ["E[D(x)]", "E[D(G(z))]"] + (["W estimate"] if loss == "wgan" else [])
    return tuple(["loss_D", "loss_G", *outputs] + (["penalty"] if penalty else []) + ["grad_norm_D", "grad_norm_G"])


FIGURES = figure_names()

# The main job's default batch size and length for each architecture, chosen by measurement (issue 11; README,
# Quality against PyTorch). On a 2-core CPU a DCGAN step of 32 images costs half a step of 64: 3,000 of them took
# three quarters of the time of the reference recipe's 2,000 steps of 64, and scored a mean Frechet distance of
# 134.0 over three seeds, where PyTorch's run of the reference recipe scored 144.3. An MLP step costs a tenth of a
# DCGAN step, and it needs more of them.
DEFAULT_BATCH_SIZE = {"dcgan": 32, "mlp": 64}
DEFAULT_STEPS = {"dcgan": 3000, "mlp": 5000}


class TrainingDiverged(FloatingPointError):
    """A loss that became inf or nan; the message names the step and the player."""


def sample_noise(n, nz, device="cpu"):
    """z ~ N(0, I), shape (n, nz), from minigan's seeded generator on `device`."""
    return randn(n, nz, device=device)


def grad_norm(module):
    """The Euclidean norm of all of a module's gradients together, or None if it has none: a figure for the
    log, as a 0-d Tensor outside any graph. Each gradient's sum of squares is its dot product with itself, which
    makes no array of squares (for G, a pass over 1.8 million floats less each step)."""
    grads = [p.grad.data.reshape(-1) for p in module.parameters() if p.grad is not None]
    if not grads:
        return None
    xp = backend.get_array_module(grads[0])
    return Tensor(xp.sqrt(sum(xp.dot(g, g) for g in grads)))


@contextlib.contextmanager
def frozen(module):
    """Inside the block, `module`'s parameters ask for no gradients: a backward through it computes the
    gradients of its input only, not of its weights (which would be computed and thrown away)."""
    module.requires_grad_(False)
    try:
        yield module
    finally:
        module.requires_grad_(True)


def train_step(G, D, opt_G, opt_D, real_batches, noise, k=1, loss="nonsaturating", label_smoothing=0.0,
               conditional=False, fresh_noise=False, gp=0.0, r1=0.0, clip=0.0):
    """One iteration of Algorithm 1; returns the figures named by figure_names(loss, gp or r1), as Tensors.

    real_batches  an iterator of (real images, labels) minibatches (labels are read when `conditional`)
    noise         noise(n) -> a noise minibatch z of n rows
    loss          one of losses.LOSSES: the pair of losses the players descend
    fresh_noise   False: G's step reuses the last fake minibatch of D's step, one forward pass of G fewer
                  (as PyTorch's DCGAN example does); True: it draws a new one, as Algorithm 1 does
    gp, r1        weights of the gradient penalty (lambda, Gulrajani et al.) and of the R1 penalty (gamma,
                  Mescheder et al.; gamma / 2 times E||grad D(x)||^2) added to D's loss; 0: none
    clip          clip D's weights to [-clip, clip] after each of its updates (the original WGAN); 0: never
    """
    # (1) k steps of the discriminator, each on a fresh real minibatch and a fresh noise minibatch
    for i in range(k):
        real, labels = next(real_batches)
        labels = labels if conditional else None
        reused = not fresh_noise and i == k - 1   # G's step below reuses this fake batch: keep its graph
        with set_grad_enabled(reused):
            fake = G(noise(real.shape[0]), labels)
        opt_D.zero_grad()
        # D's loss is a real half plus a fake half, and each half's backward runs as soon as the half exists (as
        # PyTorch's DCGAN example does): D's graph on the real batch is freed before D sees the fake batch, and
        # the two halves' gradients add up in D's .grad. A penalty joins the half whose batches it reads.
        penalties = []
        if r1:
            refuse_batch_norm(D, "R1 penalty")
            real = real.detach().requires_grad_()    # R1 differentiates D(x) with respect to x
        real_scores = D(real, labels)
        loss_real = real_loss(real_scores, loss, label_smoothing)
        if r1:   # D's gradient held small on real images (Mescheder et al.)
            penalties.append(r1 / 2 * r1_penalty(real_scores, real))
            loss_real = loss_real + penalties[-1]
        loss_real.backward()   # with a penalty: a second derivative through D
        fake_scores = D(fake.detach(), labels)  # detached: this step changes D, not G
        loss_fake = fake_loss(fake_scores, loss)
        if gp:   # the critic's gradient norm held near 1 between real and fake images (Gulrajani et al.)
            penalties.append(gp * gradient_penalty(D, real.detach(), fake.detach(), labels))
            loss_fake = loss_fake + penalties[-1]
        loss_fake.backward()
        with no_grad():
            figures = {"loss_D": loss_real + loss_fake, **_output_figures(loss, real_scores, fake_scores),
                       "grad_norm_D": grad_norm(D)}
            if penalties:
                figures["penalty"] = sum(penalties)
        opt_D.step()
        if clip:
            clip_weights_(D, clip)

    # (2) one step of the generator, through the discriminator just updated (its weights frozen)
    if fresh_noise:
        fake = G(noise(real.shape[0]), labels)
    opt_G.zero_grad()
    with frozen(D):
        fake_scores = D(fake, labels)
        loss_G = generator_loss(fake_scores, loss)
        loss_G.backward()
    with no_grad():
        figures["loss_G"] = loss_G
        figures["grad_norm_G"] = grad_norm(G)
        if loss in PROBABILITY_LOSSES:
            figures["D(G(z)) after D step"] = ops.mean(ops.sigmoid(fake_scores))
    opt_G.step()
    return {name: figures[name] for name in figure_names(loss, bool(gp or r1))}


def _output_figures(loss, real_scores, fake_scores):
    """D's mean outputs on the step's batches: probabilities for the minimax game's D, scores for a critic."""
    if loss in PROBABILITY_LOSSES:
        return {"D(x)": ops.mean(ops.sigmoid(real_scores)),
                "D(G(z)) before D step": ops.mean(ops.sigmoid(fake_scores))}
    figures = {"E[D(x)]": ops.mean(real_scores), "E[D(G(z))]": ops.mean(fake_scores)}
    if loss == "wgan":
        figures["W estimate"] = figures["E[D(x)]"] - figures["E[D(G(z))]"]
    return figures


def check_finite(step, **models):
    """Raise TrainingDiverged, naming the model and the entry, if a parameter or buffer (batch norm's running
    statistics) of any of the named models holds an inf or a nan. One reduction per model when all is well."""
    for name, model in models.items():
        state = model.state_dict()
        xp = backend.get_array_module(next(iter(state.values())).data)
        if xp.isfinite(sum(t.data.sum() for t in state.values())):   # a huge but finite sum may overflow:
            continue                                                  # then the entries are looked at one by one
        for entry, t in state.items():
            if not xp.isfinite(t.data).all():
                raise TrainingDiverged(f"step {step}: {name}'s '{entry}' holds inf or nan; training stopped")


def to_numbers(figures, step):
    """The step's figures as floats, refusing a non-finite loss (naming the step and the player).
    On a GPU the figures come back in one transfer, not one per figure."""
    present = [name for name, value in figures.items() if value is not None]
    xp = backend.get_array_module(figures[present[0]].data)
    values = backend.as_numpy(xp.stack([figures[name].data.reshape(()).astype(xp.float64) for name in present]))
    numbers = {name: math.nan for name in figures}
    numbers.update(zip(present, values.tolist()))
    for name, player in (("loss_D", "discriminator"), ("loss_G", "generator")):
        if not math.isfinite(numbers[name]):
            raise TrainingDiverged(f"step {step}: the {player}'s loss is {numbers[name]}; training stopped")
    return numbers

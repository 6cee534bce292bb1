"""One iteration of the minimax game (Algorithm 1 of Goodfellow et al., 2014), as plain functions.

    discriminator_step   one update of D on a real batch and a fake batch, ascending V
    generator_step       one update of G through the frozen D
    train_step           k discriminator steps, then one generator step

Each returns the step's figures as Tensors (turned into numbers only where they are logged).
"""
import math

from minigan import backend, ops
from minigan.autograd.tensor import no_grad
from minigan.creation import randn
from minigan.gan.losses import discriminator_loss, generator_loss


class TrainingDiverged(FloatingPointError):
    """A loss that became inf or nan; the message names the step and the player."""


def sample_noise(n, nz, device="cpu"):
    """z ~ N(0, I), shape (n, nz), from minigan's seeded generator on `device`."""
    return randn(n, nz, device=device)


def grad_norm(module):
    """The Euclidean norm of all of a module's gradients together (a Tensor)."""
    return _params_grad_norm(module.parameters())


def _params_grad_norm(params):
    total = None
    for p in params:
        if p.grad is not None:
            square = (p.grad * p.grad).sum()
            total = square if total is None else total + square
    return ops.sqrt(total) if total is not None else None


def set_requires_grad(module, flag):
    for p in module.parameters():
        p.requires_grad = flag


def discriminator_step(D, opt_D, real, fake, labels=None, label_smoothing=0.0):
    """D ascends V(D, G) on one real and one fake batch (the fake detached: G is not updated here).
    Each batch goes through D on its own, so batch norm sees real and fake statistics apart."""
    opt_D.zero_grad()
    real_logits = D(real, labels)
    fake_logits = D(fake.detach(), labels)
    loss = discriminator_loss(real_logits, fake_logits, label_smoothing)
    loss.backward()
    with no_grad():
        figures = {"loss_D": loss, "D(x)": ops.mean(ops.sigmoid(real_logits)),
                   "D(G(z)) before D step": ops.mean(ops.sigmoid(fake_logits)), "grad_norm_D": grad_norm(D)}
    opt_D.step()
    return figures


def generator_step(D, opt_G, fake, labels=None, loss="nonsaturating"):
    """G descends its loss on a fake batch made with the graph through G kept. D's parameters are frozen
    for this pass: its gradients would be computed and thrown away."""
    opt_G.zero_grad()
    set_requires_grad(D, False)
    try:
        logits = D(fake, labels)
        loss_G = generator_loss(logits, loss)
        loss_G.backward()
    finally:
        set_requires_grad(D, True)
    with no_grad():
        figures = {"loss_G": loss_G, "D(G(z)) after D step": ops.mean(ops.sigmoid(logits)),
                   "grad_norm_G": _params_grad_norm(opt_G.params)}
    opt_G.step()
    return figures


def train_step(G, D, opt_G, opt_D, batches, nz, k=1, loss="nonsaturating", label_smoothing=0.0,
               conditional=False):
    """One iteration of Algorithm 1: k discriminator steps, each on a fresh real batch and fresh noise,
    then one generator step on the last fake batch (its graph through G kept from the D step)."""
    # (1) k discriminator steps
    for _ in range(k):
        real, labels = next(batches)
        labels = labels if conditional else None
        fake = G(sample_noise(real.shape[0], nz, real.device), labels)
        figures = discriminator_step(D, opt_D, real, fake, labels, label_smoothing)
    # (2) one generator step
    figures.update(generator_step(D, opt_G, fake, labels, loss))
    return figures


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

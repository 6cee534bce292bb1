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
from minigan.autograd.tensor import no_grad, set_grad_enabled
from minigan.creation import randn
from minigan.gan.losses import discriminator_loss, generator_loss

FIGURES = ("loss_D", "loss_G", "D(x)", "D(G(z)) before D step", "D(G(z)) after D step", "grad_norm_D",
           "grad_norm_G")


class TrainingDiverged(FloatingPointError):
    """A loss that became inf or nan; the message names the step and the player."""


def sample_noise(n, nz, device="cpu"):
    """z ~ N(0, I), shape (n, nz), from minigan's seeded generator on `device`."""
    return randn(n, nz, device=device)


def grad_norm(module):
    """The Euclidean norm of all of a module's gradients together (a Tensor)."""
    total = None
    for p in module.parameters():
        if p.grad is not None:
            square = (p.grad * p.grad).sum()
            total = square if total is None else total + square
    return ops.sqrt(total) if total is not None else None


@contextlib.contextmanager
def frozen(module):
    """Inside the block, `module`'s parameters ask for no gradients: a backward through it computes the
    gradients of its input only, not of its weights (which would be computed and thrown away)."""
    for p in module.parameters():
        p.requires_grad = False
    try:
        yield module
    finally:
        for p in module.parameters():
            p.requires_grad = True


def train_step(G, D, opt_G, opt_D, real_batches, noise, k=1, loss="nonsaturating", label_smoothing=0.0,
               conditional=False, fresh_noise=False):
    """One iteration of Algorithm 1; returns the figures named in FIGURES, as Tensors.

    real_batches  an iterator of (real images, labels) minibatches (labels are read when `conditional`)
    noise         noise(n) -> a noise minibatch z of n rows
    fresh_noise   False: G's step reuses the last fake minibatch of D's step, one forward pass of G fewer
                  (as PyTorch's DCGAN example does); True: it draws a new one, as Algorithm 1 does
    """
    # (1) k steps of the discriminator, each on a fresh real minibatch and a fresh noise minibatch
    for i in range(k):
        real, labels = next(real_batches)
        labels = labels if conditional else None
        reused = not fresh_noise and i == k - 1   # G's step below reuses this fake batch: keep its graph
        with set_grad_enabled(reused):
            fake = G(noise(real.shape[0]), labels)
        opt_D.zero_grad()
        real_logits = D(real, labels)
        fake_logits = D(fake.detach(), labels)  # detached: this step changes D, not G
        loss_D = discriminator_loss(real_logits, fake_logits, label_smoothing)
        loss_D.backward()
        with no_grad():
            figures = {"loss_D": loss_D, "D(x)": ops.mean(ops.sigmoid(real_logits)),
                       "D(G(z)) before D step": ops.mean(ops.sigmoid(fake_logits)), "grad_norm_D": grad_norm(D)}
        opt_D.step()

    # (2) one step of the generator, through the discriminator just updated (its weights frozen)
    if fresh_noise:
        fake = G(noise(real.shape[0]), labels)
    opt_G.zero_grad()
    with frozen(D):
        fake_logits = D(fake, labels)
        loss_G = generator_loss(fake_logits, loss)
        loss_G.backward()
    with no_grad():
        figures.update({"loss_G": loss_G, "D(G(z)) after D step": ops.mean(ops.sigmoid(fake_logits)),
                        "grad_norm_G": grad_norm(G)})
    opt_G.step()
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

"""An averaged generator: the exponential moving average of G's weights over training.

Yazici et al., "The Unusual Effectiveness of Averaging in GAN Training" (ICLR 2019): the game's iterates
circle around an equilibrium rather than settle on it, and their average lies closer to it. After each
generator step t = 0, 1, 2, ...

    theta_avg <- beta_t * theta_avg + (1 - beta_t) * theta,      beta_t = min(decay, (1 + t) / (10 + t))

The warm-up factor (1 + t) / (10 + t) (TensorFlow's ExponentialMovingAverage with num_updates does the same)
keeps the average of the first steps from being mostly the random initial weights.

Batch norm's running statistics are not weights: statistics gathered by the raw G describe the raw G's
activations, not the averaged G's. So the averaged G gets statistics of its own, recomputed as plain
averages over a few noise batches drawn through it (`recompute_batch_norm`) before it is used.
"""
import numpy

from minigan import backend
from minigan.autograd.tensor import no_grad, tensor
from minigan.messages import shown
from minigan.nn import BatchNorm1d, BatchNorm2d


class AveragedGenerator:
    """`average`: a second model of G's architecture, made by build(), that follows G's weights as above."""

    def __init__(self, G, build, decay):
        if not 0 < decay < 1:
            raise ValueError(f"the average's decay must be in (0, 1), got {decay}")
        with backend.random_stream_untouched():   # its random initial weights are replaced below
            average = build()
        self.G, self.average, self.decay, self.updates = G, average, float(decay), 0
        self._statistics_at = None   # the update count at which batch norm's statistics were last recomputed
        average.load_state_dict(G.state_dict())
        average.eval()

    def beta(self):
        """The weight of the old average at this update: the decay, or less during the warm-up."""
        return min(self.decay, (1 + self.updates) / (10 + self.updates))

    def update(self):
        """theta_avg <- beta theta_avg + (1 - beta) theta, in place, for every parameter (after G's step)."""
        beta = self.beta()
        with no_grad():
            for p_avg, p in zip(self.average.parameters(), self.G.parameters()):
                p_avg.data -= (1 - beta) * (p_avg.data - p.data)
                p_avg.mark_modified()
        self.updates += 1

    def with_statistics(self, nz, seed, classes=0):
        """The averaged model, its batch-norm statistics recomputed (`recompute_batch_norm`) unless its weights
        have not moved since they last were: a grid and a score at the same step share one recomputation."""
        if self._statistics_at != self.updates:
            recompute_batch_norm(self.average, nz, seed, classes=classes)
            self._statistics_at = self.updates
        return self.average

    # ---- state (kept in run checkpoints, so a resumed run averages on exactly as before)

    def state_dict(self):
        return {"decay": self.decay, "updates": self.updates, "model": self.average.state_dict()}

    def check_state_dict(self, state):
        if not isinstance(state, dict) or set(state) != {"decay", "updates", "model"}:
            raise KeyError("the average's state must hold decay, updates and model")
        if state["decay"] != self.decay:
            raise ValueError(f"the average's decay is {shown(state['decay'])} in the state but {self.decay} in "
                             "this run")
        if type(state["updates"]) is not int or state["updates"] < 0:
            raise ValueError(f"the average's update count must be a whole number, 0 or more, got "
                             f"{shown(state['updates'])}")
        if not isinstance(state["model"], dict):
            raise TypeError("the average's model must be a dict of arrays")
        self.average.check_state_dict(state["model"])

    def load_state_dict(self, state):
        self.check_state_dict(state)
        self.updates = int(state["updates"])
        self.average.load_state_dict(state["model"])
        self._statistics_at = None


def recompute_batch_norm(G, nz, seed, batches=16, batch_size=64, classes=0):
    """Set the running statistics of G's batch norms to the plain average of the batch statistics over
    `batches` noise batches drawn through G in training mode. The noise comes from its own generator
    (seeded by `seed`), so the training run's random stream is untouched. G is left in eval mode.
    classes: for a conditional G, the number of classes it was trained on, whose labels the batches cycle
    through (the statistics of labels it never saw would be no statistics of its samples); 0: unconditional."""
    norms = [m for m in G.modules() if isinstance(m, (BatchNorm1d, BatchNorm2d)) and m.track_running_stats]
    if not norms:
        return G
    momenta = [m.momentum for m in norms]
    rng = numpy.random.default_rng(seed)
    device = next(iter(G.parameters())).device
    G.train()
    try:
        with no_grad():
            for i in range(batches):
                for m in norms:
                    m.momentum = 1 / (i + 1)   # the first batch replaces the statistics; batch i weighs 1 / (i + 1)
                z = tensor(rng.standard_normal((batch_size, nz)).astype(numpy.float32), device=device)
                labels = tensor(numpy.arange(batch_size) % classes, device=device) if classes else None
                G(z, labels)
    finally:
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum
        G.eval()
    return G

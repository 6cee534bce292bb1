"""The minimax game's value function and the two players' losses, on logits.

Goodfellow et al. (2014), eq. 1:  min_G max_D V(D, G) = E_x[log D(x)] + E_z[log(1 - D(G(z)))].
With D(x) = sigmoid(a) for a logit a, the logs are softplus terms, exact for any logit:
    log D = log sigmoid(a) = -softplus(-a),      log(1 - D) = log sigmoid(-a) = -softplus(a).
"""
from minigan.ops import mean, softplus

GENERATOR_LOSSES = ("nonsaturating", "minimax")


def value_function(real_logits, fake_logits):
    """V(D, G) = E[log D(x)] + E[log(1 - D(G(z)))], estimated on one real and one fake batch."""
    return -mean(softplus(-real_logits)) - mean(softplus(fake_logits))


def discriminator_loss(real_logits, fake_logits, label_smoothing=0.0):
    """D ascends V, so it descends -V = E[-log D(x)] + E[-log(1 - D(G(z)))] (binary cross-entropy with
    targets 1 for real and 0 for fake). One-sided label smoothing (Salimans et al., 2016) aims the real
    target at 1 - label_smoothing instead: E[softplus(a) - (1 - s) a] for the real logits a."""
    if not 0 <= label_smoothing < 1:
        raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing}")
    if label_smoothing == 0:
        return -value_function(real_logits, fake_logits)
    real_term = mean(softplus(real_logits) - (1 - label_smoothing) * real_logits)
    return real_term + mean(softplus(fake_logits))


def generator_loss(fake_logits, kind="nonsaturating"):
    """What G descends.
    minimax:       E[log(1 - D(G(z)))] = -E[softplus(a)], the paper's game; it saturates (its gradient
                   vanishes) while D confidently rejects the fakes, which is early in training.
    nonsaturating: -E[log D(G(z))] = E[softplus(-a)], the paper's practical alternative: same fixed point,
                   strong gradients early."""
    if kind == "nonsaturating":
        return mean(softplus(-fake_logits))
    if kind == "minimax":
        return -mean(softplus(fake_logits))
    raise ValueError(f"unknown generator loss {kind!r}: expected one of {GENERATOR_LOSSES}")

"""A training run's state on disk: everything needed to resume it exactly, or to sample from it.

A run checkpoint holds: both players and both optimizers, the step, the random generator's state, the batch
iterator's position, and the config (model settings and training options). Resuming restores all of it, so
a run stopped and resumed makes the same updates, bit for bit, as one that never stopped.
"""
from minigan import backend, checkpoint
from minigan.checkpoint import CheckpointError
from minigan.gan.models import build_models, default_config


def run_state(G, D, opt_G, opt_D, step, batches, config):
    return {"kind": "minigan-gan-run", "config": config, "step": step,
            "G": G.state_dict(), "D": D.state_dict(), "opt_G": opt_G.state_dict(), "opt_D": opt_D.state_dict(),
            "rng": backend.get_rng_state(), "batches": batches.state_dict()}


def save_run(path, G, D, opt_G, opt_D, step, batches, config):
    checkpoint.save(path, run_state(G, D, opt_G, opt_D, step, batches, config))


def _read(path):
    state = checkpoint.load(path)
    if state.get("kind") != "minigan-gan-run":
        raise CheckpointError(f"{path}: not a minigan GAN run checkpoint")
    return state


def resume_run(path, G, D, opt_G, opt_D, batches, config):
    """Load the run at `path` into the given objects (made from the same model config); returns the step."""
    state = _read(path)
    model_keys = tuple(default_config())  # every setting that shapes the players
    theirs = {k: state["config"].get(k) for k in model_keys}
    ours = {k: config.get(k) for k in model_keys}
    if theirs != ours:
        differ = {k: (theirs[k], ours[k]) for k in model_keys if theirs[k] != ours[k]}
        raise CheckpointError(f"{path}: made by another model (checkpoint vs this run: {differ})")
    checkpoint.restore(path, state, G=G, D=D, opt_G=opt_G, opt_D=opt_D, batches=batches)
    backend.set_rng_state(state["rng"])
    return int(state["step"])


def load_generator(path, device="cpu"):
    """(G in eval mode, config) from a run checkpoint, for sampling."""
    state = _read(path)
    config = state["config"]
    G, _ = build_models(config)
    checkpoint.restore(path, state, G=G)
    return G.to(device).eval(), config

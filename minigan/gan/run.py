"""A training run's state on disk: everything needed to resume it exactly, or to sample from it.

A run checkpoint holds: both players and both optimizers, the step, the random generator's state, the batch
iterator's position, the config (model settings and training options) and, when the run keeps one, the
averaged generator ("G_avg"). Resuming restores all of it, so a run stopped and resumed makes the same
updates, bit for bit, as one that never stopped. One run at a time writes into a folder (`claim_folder`), and
a run asked to stop (Ctrl-C, or a plain `kill`) stops between two steps, where its state is whole and can be
saved (`StopRequests`).
"""
import contextlib
import os
import shlex
import signal
import threading

import numpy

from minigan import backend, checkpoint, files
from minigan.checkpoint import CheckpointError
from minigan.messages import shown
from minigan.gan.models import build_models, check_config, complete_config, default_config

CHECKPOINT_NAME = "checkpoint.npz"   # a run's checkpoint, in the run's folder beside its log and pictures


def run_state(G, D, opt_G, opt_D, step, batches, config, averaged=None):
    state = {"kind": "minigan-gan-run", "config": config, "step": step,
             "G": G.state_dict(), "D": D.state_dict(), "opt_G": opt_G.state_dict(), "opt_D": opt_D.state_dict(),
             "rng": backend.get_rng_state(), "batches": batches.state_dict()}
    if averaged is not None:
        state["G_avg"] = averaged.state_dict()
    return state


def save_run(path, G, D, opt_G, opt_D, step, batches, config, averaged=None):
    checkpoint.save(run_state(G, D, opt_G, opt_D, step, batches, config, averaged), path)


def _refuse_non_finite(path, state, *players):
    """Raise CheckpointError naming the entry if a player's weights or buffers hold inf or nan, or a batch
    norm's running variance is negative (either would draw black images)."""
    for player in players:
        entries = state.get(player)
        for name, array in (entries.items() if isinstance(entries, dict) else ()):  # restore names what is amiss
            if not isinstance(array, numpy.ndarray) or array.dtype.kind != "f":
                continue
            if not numpy.isfinite(array).all():
                raise CheckpointError(f"{path}: {player}'s '{name}' holds inf or nan (a diverged run); "
                                      "refusing to use it")
            if name.endswith("running_var") and (array < 0).any():
                raise CheckpointError(f"{path}: {player}'s '{name}' holds a negative variance; refusing to use it")


def read_run(path):
    """The whole state of the run checkpoint at `path` (raises CheckpointError if it is not one)."""
    inside = os.path.join(path, CHECKPOINT_NAME)
    if os.path.isdir(path) and os.path.isfile(inside):   # the run's folder, named for its checkpoint
        raise CheckpointError(f"{path}: a run's folder; its checkpoint is {shlex.quote(inside)}")
    state = checkpoint.load(path)
    if not isinstance(state, dict) or state.get("kind") != "minigan-gan-run":
        raise CheckpointError(f"{path}: not a minigan GAN run checkpoint")
    for key in ("config", "step", "G", "D", "opt_G", "opt_D", "rng", "batches"):
        if key not in state:
            raise CheckpointError(f"{path}: the run checkpoint has no '{key}' entry")
    try:
        check_config(state["config"])
    except ValueError as error:
        raise CheckpointError(f"{path}: {error}") from None
    state["config"] = complete_config(state["config"])   # a run of an earlier version: its own settings
    if type(state["step"]) is not int or state["step"] < 0:
        raise CheckpointError(f"{path}: its step must be a whole number, 0 or more, got {shown(state['step'])}")
    try:
        backend.check_rng_state(state["rng"])
    except ValueError as error:
        raise CheckpointError(f"{path}: {error}") from None
    return state


def resume_run(path, G, D, opt_G, opt_D, batches, config, averaged=None, state=None):
    """Load the run at `path` (or its `state`, already read by read_run) into the given objects (made from
    the same model config), and into `averaged` (an AveragedGenerator) when given; returns the step."""
    state = read_run(path) if state is None else state
    model_keys = tuple(default_config())  # every setting that shapes the players
    theirs = {k: state["config"].get(k) for k in model_keys}
    ours = {k: config.get(k) for k in model_keys}
    if theirs != ours:
        differ = {k: (theirs[k], ours[k]) for k in model_keys if theirs[k] != ours[k]}
        raise CheckpointError(f"{path}: made by another model (checkpoint vs this run: {differ})")
    _refuse_non_finite(path, state, "G", "D")
    targets = dict(G=G, D=D, opt_G=opt_G, opt_D=opt_D, batches=batches)
    if averaged is not None:
        if "G_avg" not in state:
            raise CheckpointError(f"{path}: the run's settings keep an averaged generator, but the checkpoint "
                                  "holds none")
        targets["G_avg"] = averaged
    checkpoint.restore(path, state, **targets)
    backend.set_rng_state(state["rng"])
    return int(state["step"])


GENERATORS = ("averaged", "raw")


def load_generator(path, device="cpu", which=None):
    """(G in eval mode, config, which) from a run checkpoint, for sampling. which: "averaged" (the run's
    averaged generator, the default when it has one) or "raw" (the generator as trained)."""
    state = read_run(path)
    config = state["config"]
    if which is None:
        which = "averaged" if "G_avg" in state else "raw"
    if which not in GENERATORS:
        raise ValueError(f"unknown generator {which!r}: expected one of {GENERATORS}")
    if which == "averaged" and "G_avg" not in state:
        raise CheckpointError(f"{path}: this run kept no averaged generator (it was trained without --ema); "
                              "use the raw one")
    G, _ = build_models(config)
    if which == "averaged":
        if not isinstance(state["G_avg"], dict) or "model" not in state["G_avg"]:
            raise CheckpointError(f"{path}: 'G_avg' holds no model")
        state = {"G": state["G_avg"]["model"]}
    _refuse_non_finite(path, state, "G")
    checkpoint.restore(path, state, G=G)
    return G.to(device).eval(), config, which


class FolderInUse(RuntimeError):
    """Another run is writing into the folder."""


@contextlib.contextmanager
def claim_folder(folder):
    """Hold `folder` for one run: inside the block, a second claim on it, from this process or any other,
    raises FolderInUse, rather than letting two runs write over each other's log and checkpoint. The hold is
    the operating system's lock on the folder (flock), so it ends with the block or with the process, however
    that ends: a killed run leaves nothing behind that would refuse the next. Holding the folder, the run removes
    the temporary files that writes killed before their rename left there (`files.remove_leftovers`). Without
    flock (Windows, or a file system that keeps no locks), nothing is held and nothing removed."""
    try:
        import fcntl
    except ImportError:
        yield folder
        return
    handle = os.open(folder, os.O_RDONLY)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FolderInUse(f"{folder}: another run is writing into it right now; wait for it to end, or choose "
                              "another --out") from None
        except OSError:   # a file system that keeps no locks (some network mounts): nothing is held
            pass
        else:
            files.remove_leftovers(folder)
        yield folder
    finally:
        os.close(handle)


class StopRequests:
    """Inside the block, Ctrl-C (SIGINT) or a plain `kill` (SIGTERM) no longer stops the program in the middle
    of a step, where one player may be updated and the other not; it sets `requested` (the signal), and
    the training loop stops after the step, when the whole state can be saved. A second request stops at once,
    as Python's own KeyboardInterrupt. Outside the main thread, where no signal handler can be set, the block
    changes nothing."""
    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, announce=print):
        self.announce, self.requested, self._previous = announce, None, {}

    def _request(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = signal.Signals(signum)
        self.announce(f"{self.requested.name}: stopping after this step (once more to stop at once)")

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = {s: signal.signal(s, self._request) for s in self.SIGNALS}
        return self

    def __exit__(self, *exc):
        for s, handler in self._previous.items():
            signal.signal(s, handler)
        self._previous = {}
        return False

"""Checkpoints are atomic, never unpickle, refuse damaged or mismatched files with clear errors, and
survive a process killed at any moment."""
import multiprocessing
import os
import pickle
import random
import signal
import subprocess
import sys
import time
import zipfile

import numpy
import pytest

import minigan
from minigan import checkpoint, nn, optim


def test_round_trip_of_models_optimizers_and_metadata(tmp_path):
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
    opt = optim.Adam(model.parameters(), lr=0.01)
    model(minigan.randn(2, 1, 5, 5)).sum().backward()
    opt.step()
    path = tmp_path / "run" / "ck.npz"
    state = {"model": model.state_dict(), "opt": opt.state_dict(), "step": 7,
             "rng": minigan.get_rng_state(), "config": {"arch": "dcgan", "lr": 0.01, "sizes": [1, 2]}}
    checkpoint.save(state, path)
    loaded = checkpoint.load(path)
    assert loaded["step"] == 7 and loaded["config"] == state["config"] and loaded["rng"] == state["rng"]
    for k, v in model.state_dict().items():
        numpy.testing.assert_array_equal(loaded["model"][k], v.numpy())
        assert loaded["model"][k].dtype == numpy.float32
    assert [p.name for p in tmp_path.joinpath("run").iterdir()] == ["ck.npz"]  # no temporary file left


def test_a_pickled_payload_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "evil.npz"
    numpy.savez(path, __meta__=numpy.frombuffer(b"{}", dtype=numpy.uint8),
                weights=numpy.array([Payload()], dtype=object))
    with pytest.raises(checkpoint.CheckpointError, match="evil.npz: .*pickled object; refusing"):
        checkpoint.load(path)
    assert not marker.exists()
    with open(tmp_path / "plain.pkl", "wb") as f:  # a bare pickle, not even a zip
        pickle.dump(Payload(), f)
    with pytest.raises(checkpoint.CheckpointError, match="plain.pkl"):
        checkpoint.load(tmp_path / "plain.pkl")
    assert not marker.exists()


def _good_checkpoint(tmp_path):
    model = nn.Linear(4, 3)
    path = tmp_path / "good.npz"
    checkpoint.save({"model": model.state_dict(), "step": 1}, path)
    return path, model


def test_truncated_and_corrupted_files_are_named(tmp_path):
    path, _ = _good_checkpoint(tmp_path)
    data = path.read_bytes()
    (tmp_path / "short.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(checkpoint.CheckpointError, match="short.npz: not a readable checkpoint"):
        checkpoint.load(tmp_path / "short.npz")
    flipped = bytearray(data)
    start = data.index(b"a0.npy")  # inside the first array's record: its CRC no longer matches
    for i in range(start + 200, start + 240):
        flipped[i] ^= 0xFF
    (tmp_path / "flipped.npz").write_bytes(bytes(flipped))
    with pytest.raises(checkpoint.CheckpointError, match="flipped.npz"):
        checkpoint.load(tmp_path / "flipped.npz")
    with pytest.raises(checkpoint.CheckpointError, match="missing.npz: no such checkpoint"):
        checkpoint.load(tmp_path / "missing.npz")
    numpy.savez(tmp_path / "foreign.npz", x=numpy.zeros(2))
    with pytest.raises(checkpoint.CheckpointError, match="foreign.npz: not a minigan checkpoint"):
        checkpoint.load(tmp_path / "foreign.npz")


def test_a_mismatched_model_or_missing_entry_changes_nothing(tmp_path):
    path, _ = _good_checkpoint(tmp_path)
    state = checkpoint.load(path)
    other = nn.Linear(4, 5)
    before = other.weight.numpy().copy()
    with pytest.raises(checkpoint.CheckpointError, match=r"good.npz: 'model' does not fit: .*'weight' has shape \(3, 4\)"):
        checkpoint.restore(path, state, model=other)
    numpy.testing.assert_array_equal(other.weight.numpy(), before)
    with pytest.raises(checkpoint.CheckpointError, match="good.npz: the checkpoint has no 'G' entry"):
        checkpoint.restore(path, state, G=nn.Linear(4, 3))
    del state["model"]["bias"]
    with pytest.raises(checkpoint.CheckpointError, match=r"missing entries \['bias'\]"):
        checkpoint.restore(path, state, model=nn.Linear(4, 3))


def test_saving_refuses_what_it_cannot_store_without_pickle(tmp_path):
    with pytest.raises(TypeError, match="'bad' holds a set"):
        checkpoint.save({"bad": {1, 2}}, tmp_path / "x.npz")
    assert not (tmp_path / "x.npz").exists()


def _save_forever(path):
    """Child process: write version k (every array filled with k) for k = 1, 2, ... until killed."""
    k = 0
    arrays = {f"w{i}": numpy.zeros(20_000, dtype=numpy.float32) for i in range(8)}
    while True:
        k += 1
        for a in arrays.values():
            a.fill(k)
        checkpoint.save({"arrays": arrays, "version": k}, path)


def test_a_process_killed_at_random_moments_always_leaves_a_whole_checkpoint(tmp_path):
    path = tmp_path / "ck.npz"
    checkpoint.save({"arrays": {f"w{i}": numpy.zeros(20_000, dtype=numpy.float32) for i in range(8)},
                     "version": 0}, path)
    context = multiprocessing.get_context("fork")
    chooser = random.Random(1234)
    last = 0
    for _ in range(50):
        child = context.Process(target=_save_forever, args=(str(path),))
        child.start()
        time.sleep(chooser.uniform(0.005, 0.05))
        os.kill(child.pid, signal.SIGKILL)
        child.join()
        state = checkpoint.load(path)  # must never raise: the old file or the new one, whole
        version = state["version"]
        assert all((a == version).all() for a in state["arrays"].values()), "a half-written version"
        last = max(last, version)
    assert last > 0  # the children did get to write
    leftovers = [p for p in os.listdir(tmp_path) if p != "ck.npz"]
    assert len(leftovers) <= 1 and all(p.startswith(".tmp-ck.npz-") for p in leftovers)  # the last kill's, if any
    checkpoint.save({"version": -1}, path)
    assert os.listdir(tmp_path) == ["ck.npz"]   # the next save removes what a killed one left


def test_a_symbolic_link_is_written_through_not_replaced(tmp_path):
    (tmp_path / "runs").mkdir()
    target = tmp_path / "runs" / "real.npz"
    checkpoint.save({"version": 1}, target)
    link = tmp_path / "checkpoint.npz"
    link.symlink_to(target)
    checkpoint.save({"version": 2}, link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert checkpoint.load(target)["version"] == 2 and checkpoint.load(link)["version"] == 2


def test_a_pipe_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "checkpoint.npz"
    os.mkfifo(fifo)
    code = f"from minigan import checkpoint\ncheckpoint.load({str(fifo)!r})"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "not a regular file" in result.stderr


def _bomb(path, inflated):
    """A checkpoint with valid metadata and one more member: `inflated` bytes of zeros, deflated to little."""
    checkpoint.save({"w": numpy.zeros(4, dtype=numpy.float32)}, path)
    chunk = bytes(64 << 20)
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with archive.open("extra.npy", "w", force_zip64=True) as member:
            for _ in range(inflated // len(chunk)):
                member.write(chunk)


def test_a_small_file_that_would_inflate_to_gigabytes_is_refused_under_a_memory_cap(tmp_path):
    path = tmp_path / "bomb.npz"
    _bomb(path, 1 << 30)
    assert os.path.getsize(path) < 8 << 20
    # In a child whose heap may not grow by more than 512 MiB: unpacking the member would need a GiB.
    code = ("import resource, sys\nfrom minigan import checkpoint\n"
            "used = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024\n"
            "resource.setrlimit(resource.RLIMIT_DATA, (used + (512 << 20),) * 2)\n"
            "try:\n    checkpoint.load(sys.argv[1])\n"
            "except checkpoint.CheckpointError as error:\n    print(error)\n")
    result = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "member 'extra.npy' would unpack from" in result.stdout and "refusing to decompress it" in result.stdout


def test_keys_round_trip_whatever_their_names_or_are_refused_at_save(tmp_path):
    state = {"a": numpy.arange(3), "a.npy": numpy.arange(4), "a.npy.npy": 5, "": {"ü b": numpy.ones(2)},
             "meta.json": "text", "list": [numpy.zeros(1), {"x.npy": numpy.full(2, 7.0)}]}
    checkpoint.save(state, tmp_path / "k.npz")
    back = checkpoint.load(tmp_path / "k.npz")
    assert back.keys() == state.keys()
    assert back["a"].tolist() == [0, 1, 2] and back["a.npy"].tolist() == [0, 1, 2, 3] and back["a.npy.npy"] == 5
    assert back[""]["ü b"].tolist() == [1.0, 1.0] and back["list"][1]["x.npy"].tolist() == [7.0, 7.0]
    for bad in ("__array__", "__meta__.json", "a/b", 3):
        with pytest.raises(TypeError, match="must be a string without '/', not starting with '__'"):
            checkpoint.save({"outer": {bad: numpy.zeros(1)}}, tmp_path / "bad.npz")


def test_metadata_nested_past_reason_is_refused_in_one_line(tmp_path):
    path = tmp_path / "deep.npz"
    meta = '{"format": "minigan-checkpoint-1", "state": ' + "[" * 100_000 + "]" * 100_000 + "}"
    with zipfile.ZipFile(path, "w") as archive:
        with archive.open(checkpoint.META + ".npy", "w") as member:
            numpy.lib.format.write_array(member, numpy.frombuffer(meta.encode(), numpy.uint8))
    with pytest.raises(checkpoint.CheckpointError, match="deep.npz: its metadata is nested deeper"):
        checkpoint.load(path)


def test_save_takes_torchs_argument_order_and_the_other_one_is_named(tmp_path):
    """minigan.save(path, state) was the order; torch.save(obj, f) is the design's, and the old call says so."""
    state = nn.Linear(2, 3).state_dict()
    minigan.save(state, tmp_path / "weights.npz")
    assert set(minigan.load(tmp_path / "weights.npz")) == {"weight", "bias"}
    for path in (tmp_path / "other.npz", str(tmp_path / "other.npz")):
        with pytest.raises(TypeError, match=r"save\(state, path\) takes the state first, as torch.save"):
            minigan.save(path, state)
    with pytest.raises(TypeError, match="path must be a file name, got int"):
        minigan.save(state, 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["weights.npz"]

"""A real run checkpoint, edited at random (its metadata and its arrays), given to `sample` and to a resumed
main job: each either works on what is still a valid run or ends in one clear `error: ...` line. Never a
traceback, never a hang (each example is bounded in time), never a runaway allocation."""
import contextlib
import io
import json
import resource
import zipfile

import numpy
import pytest
from hypothesis import given, settings, strategies as st

from minigan import checkpoint, cli
from tests.test_main_job import SMALL

META = checkpoint.META


@pytest.fixture(scope="module")
def run_path(tmp_path_factory, example):
    """A checkpoint written by the main job, with an averaged generator."""
    out = tmp_path_factory.mktemp("run")
    assert example.main(SMALL + ["--steps", "2", "--ema", "0.9", "--out", str(out)]) == 0
    return out / "checkpoint.npz"


def _read(path):
    """(metadata, arrays) of a checkpoint, read raw."""
    with numpy.load(path, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    return json.loads(arrays.pop(META).tobytes()), arrays


def _paths(tree, prefix=()):
    """Every path into the metadata's nested dicts and lists."""
    items = tree.items() if isinstance(tree, dict) else enumerate(tree) if isinstance(tree, list) else ()
    for key, value in items:
        yield prefix + (key,)
        yield from _paths(value, prefix + (key,))


JSON_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-2, 2), st.sampled_from([10 ** 12, 30000, -1]),
                        st.floats(allow_nan=True), st.text(max_size=8), st.lists(st.integers(0, 3), max_size=3),
                        st.just({}), st.just({"__array__": "a0"}))


def _edited_array(array, kind):
    if kind == "shape":
        return numpy.zeros(array.shape + (2,), array.dtype)
    if kind == "dtype":
        return array.astype(numpy.float64 if array.dtype != numpy.float64 else numpy.int32)
    if kind == "nan":
        edited = array.astype(numpy.float32, copy=True).reshape(-1)
        edited[: max(1, edited.size // 2)] = numpy.nan
        return edited.reshape(array.shape)
    return numpy.zeros(0, array.dtype)  # "empty"


edits = st.one_of(
    st.tuples(st.just("meta"), st.integers(0, 10 ** 6), JSON_VALUES),
    st.tuples(st.just("drop"), st.integers(0, 10 ** 6), st.none()),
    st.tuples(st.just("array"), st.integers(0, 10 ** 6), st.sampled_from(["shape", "dtype", "nan", "empty"])),
)


def _apply(meta, arrays, edit):
    meta, arrays = json.loads(json.dumps(meta)), dict(arrays)
    kind, index, value = edit
    if kind == "array":
        name = sorted(arrays)[index % len(arrays)]
        arrays[name] = _edited_array(arrays[name], value)
        return meta, arrays
    path = list(_paths(meta))[index % len(list(_paths(meta)))]
    *parents, last = path
    holder = meta
    for key in parents:
        holder = holder[key]
    if kind == "drop":
        del holder[last]
    else:
        holder[last] = value
    return meta, arrays


def _write(path, meta, arrays):
    with zipfile.ZipFile(path, "w") as archive:  # as numpy.savez would, without checkpoint.save's checks
        for name, array in {**arrays, META: numpy.frombuffer(json.dumps(meta).encode(), numpy.uint8)}.items():
            with archive.open(name + ".npy", "w") as member:
                numpy.lib.format.write_array(member, numpy.asarray(array), allow_pickle=False)


def _clear_end(command):
    """Run command(); it must return 0 or stop with SystemExit carrying one 'error: ...' line."""
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(stderr):
            return command()
    except SystemExit as stop:
        message = stop.code if isinstance(stop.code, str) else stderr.getvalue()
        assert isinstance(message, str) and message.startswith("error: ") and "\n" not in message.strip(), message
        return message


@settings(max_examples=30)
@given(edit=edits)
def test_an_edited_checkpoint_is_used_or_refused_in_one_clear_line(run_path, example, tmp_path, edit):
    meta, arrays = _apply(*_read(run_path), edit)
    path = tmp_path / "edited.npz"
    _write(path, meta, arrays)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    _clear_end(lambda: cli.main(["sample", "--checkpoint", str(path), "--n", "4", "--out", str(tmp_path / "s.png")]))
    out = tmp_path / "resumed"
    _clear_end(lambda: example.main(SMALL + ["--steps", "3", "--out", str(out), "--force", "--resume", str(path)]))
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024
    assert grown < 512 << 20, f"the process grew by {grown / 2 ** 20:.0f} MiB on edit {edit}"

"""Checkpoints: one .npz file of named arrays plus JSON metadata, written atomically, read without pickle.

    save(state, path)   state: nested dicts and lists whose leaves are arrays, Tensors, or JSON values
    load(path)          the same nested structure back, arrays as NumPy arrays

Arrays are stored as members named by their order ("a0", "a1", ...); everything else goes into one JSON
document stored as the array "__meta__.json", with each array replaced by a reference to its member, so a
key's name never becomes a file name and every key round-trips as it was. Keys starting with "__" are kept
for this format and refused. Writing goes through `files.atomic_write` (a temporary file in the same
directory, flushed, fsynced and renamed over the old file): a crash at any instant leaves the old checkpoint
or the new one, whole. A temporary file that a killed save left behind is removed by the next save to the
same path. A path that is a symbolic link is written through: the file it points to is replaced, the link
stays.
Reading uses allow_pickle=False, so a file carrying a pickled object is refused before any code runs, and
reads within bounds: only a regular file is opened (a pipe or a device would block or never end), and the
sizes its members declare are checked before any is decompressed (a small file that would inflate to
gigabytes is refused, not unpacked).
"""
import json
import os
import stat
import zipfile

import numpy

from minigan import backend, files
from minigan.autograd.tensor import Tensor
from minigan.messages import shown

META = "__meta__.json"
FORMAT = "minigan-checkpoint-1"
MAX_BYTES = 4 << 30     # what a checkpoint may unpack to, in all
MAX_INFLATION = 20      # how many times its stored size a compressed member may unpack to (savez stores, 1x)


class CheckpointError(ValueError):
    """A checkpoint that cannot be read or does not fit what it is loaded into."""


def _is_array(value):
    return isinstance(value, (Tensor, numpy.ndarray)) or backend.get_array_module(value) is not numpy


def _split(value, path, arrays):
    """The JSON skeleton of `value`, moving every array into `arrays` under its path."""
    if _is_array(value):
        array = backend.as_numpy(value.data if isinstance(value, Tensor) else value)
        if array.dtype == object:
            raise TypeError(f"save: '{path}' is an object array, which cannot be saved without pickle")
        name = f"a{len(arrays)}"
        arrays[name] = array
        return {"__array__": name}
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, str) or "/" in key or key.startswith("__"):
                raise TypeError(f"save: key {key!r} under '{path}' must be a string without '/', not starting "
                                "with '__'")
        return {key: _split(v, f"{path}/{key}" if path else key, arrays) for key, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_split(v, f"{path}/{i}" if path else str(i), arrays) for i, v in enumerate(value)]
    if isinstance(value, numpy.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"save: '{path}' holds a {type(value).__name__}, which is neither an array nor JSON")


def _join(skeleton, arrays, path):
    if isinstance(skeleton, dict):
        if set(skeleton) == {"__array__"}:
            name = skeleton["__array__"]
            if not isinstance(name, str) or name not in arrays:
                raise CheckpointError(f"{path}: the metadata refers to an array {name!r:.60} that the file lacks")
            return arrays[name]
        return {k: _join(v, arrays, path) for k, v in skeleton.items()}
    if isinstance(skeleton, list):
        return [_join(v, arrays, path) for v in skeleton]
    return skeleton


def save(state, path):
    """Write `state` to `path` atomically (see the module docstring); the arguments in torch.save's order."""
    if isinstance(state, (str, bytes, os.PathLike)) and isinstance(path, (dict, list)):
        raise TypeError("save(state, path) takes the state first, as torch.save does; it was given a path first")
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise TypeError(f"save(state, path): path must be a file name, got {type(path).__name__}")
    arrays = {}
    skeleton = _split(state, "", arrays)
    meta = json.dumps({"format": FORMAT, "state": skeleton}).encode("utf-8")
    arrays[META] = numpy.frombuffer(meta, dtype=numpy.uint8)
    directory, name = os.path.split(os.path.realpath(os.fspath(path)))
    os.makedirs(directory, exist_ok=True)
    files.remove_leftovers(directory, name)
    with files.atomic_write(path, "wb", durable=True) as f:
        numpy.savez(f, **arrays)


def _check_sizes(path):
    """Refuse, before decompressing anything, a file that is not a regular file or whose members declare
    sizes out of bounds (see MAX_BYTES and MAX_INFLATION)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such checkpoint file") from None
    if stat.S_ISDIR(mode):
        raise CheckpointError(f"{path}: a folder, not a checkpoint file")
    if not stat.S_ISREG(mode):
        raise CheckpointError(f"{path}: not a regular file (a pipe or a device), so not a checkpoint")
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (OSError, zipfile.BadZipFile, EOFError) as error:
        raise CheckpointError(f"{path}: not a readable checkpoint, truncated or corrupted ({error})") from None
    total = 0
    for m in members:
        if m.file_size > MAX_INFLATION * max(m.compress_size, 1 << 20):
            raise CheckpointError(f"{path}: member '{m.filename}' would unpack from {m.compress_size:,} to "
                                  f"{m.file_size:,} bytes; refusing to decompress it")
        total += m.file_size
    if total > MAX_BYTES:
        raise CheckpointError(f"{path}: its members would unpack to {total:,} bytes, more than the "
                              f"{MAX_BYTES:,} a checkpoint may hold")


def load(path):
    """Read a checkpoint written by `save`; never unpickles. Raises CheckpointError naming the file."""
    path = os.fspath(path)
    _check_sizes(path)
    try:
        with numpy.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}  # read everything now: errors surface here
    except ValueError as error:
        if "pickle" in str(error):
            raise CheckpointError(f"{path}: the file holds a pickled object; refusing to unpickle it "
                                  "(minigan checkpoints never contain pickles)") from None
        raise CheckpointError(f"{path}: not a readable checkpoint ({error})") from None
    except (OSError, zipfile.BadZipFile, EOFError, KeyError) as error:
        raise CheckpointError(f"{path}: not a readable checkpoint, truncated or corrupted ({error})") from None
    except MemoryError:
        raise CheckpointError(f"{path}: an array's header declares more numbers than memory holds") from None
    if META not in arrays:
        raise CheckpointError(f"{path}: not a minigan checkpoint (no {META} entry)")
    try:
        meta = json.loads(arrays.pop(META).tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{path}: its metadata is not valid JSON ({error})") from None
    except RecursionError:
        raise CheckpointError(f"{path}: its metadata is nested deeper than any checkpoint's") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or "state" not in meta:
        found = shown(meta.get("format")) if isinstance(meta, dict) else shown(meta)
        raise CheckpointError(f"{path}: unknown checkpoint format {found}")
    try:
        return _join(meta["state"], arrays, path)
    except RecursionError:
        raise CheckpointError(f"{path}: its metadata is nested deeper than any checkpoint's") from None


def restore(path, state, **targets):
    """Load the entries of checkpoint `state` (from `load(path)`) into objects with load_state_dict:
    restore(path, state, G=generator, opt_G=optimizer). Every target is checked first, so a mismatch
    anywhere changes nothing anywhere; the error names the file and the entry."""
    for key, target in targets.items():
        if key not in state:
            raise CheckpointError(f"{path}: the checkpoint has no '{key}' entry (it has {sorted(state)})")
        try:
            target.check_state_dict(state[key])
        except (KeyError, ValueError, TypeError) as error:
            raise CheckpointError(f"{path}: '{key}' does not fit: {error}") from None
    for key, target in targets.items():
        target.load_state_dict(state[key])

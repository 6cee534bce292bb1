"""Writing a file whole or not at all.

    with atomic_write("run/log.csv", "w", durable=True) as f:
        f.write(text)

Every file minigan writes (checkpoints, logs, pictures, samples, scores, downloads, caches, animations) goes
through `atomic_write`: the bytes go to a temporary file beside the target (the same folder, so the same file
system), which is renamed over the target only once it is complete. On POSIX the rename is atomic, so a reader,
or a run started after a kill at any instant, finds the old file or the new one, never a mixture, and an error
while writing leaves the old file as it was. With durable=True the file and then the rename are forced to disk
(fsync) as well, so they outlive a power cut: what a run's checkpoint and log need, and pictures do not.

A writer that takes only a file name (matplotlib's animation writers) writes to the temporary file's name,
`f.name`, inside the block: the temporary file ends in the target's extension, by which such writers pick the
format.

A path that is a symbolic link is written through: the file it names is replaced and the link stays. A write
killed before its rename leaves a hidden temporary file, `.tmp-<name>-<random><extension>`; `remove_leftovers`
clears them, which only the program that owns the folder may do (another writer's temporary file may be in use).
"""
import contextlib
import os
import tempfile


def _prefix(name):
    return f".tmp-{name}-"


@contextlib.contextmanager
def atomic_write(path, mode="wb", durable=False, **open_args):
    """Open a temporary file for writing (`mode` and `open_args` as `open` takes them) and, when the block ends
    without an exception, rename it over `path`; on an exception, remove it and leave `path` alone."""
    path = os.path.realpath(os.fspath(path))   # through a symbolic link, to the file it names
    directory = os.path.dirname(path)
    if os.path.isdir(path):
        raise IsADirectoryError(f"{path} is a folder, not a file")
    try:
        fd, tmp = tempfile.mkstemp(prefix=_prefix(os.path.basename(path)), suffix=os.path.splitext(path)[1],
                                   dir=directory)
    except OSError as error:   # named by the file asked for, not by the temporary one
        raise type(error)(f"cannot write {path}: {error.strerror}") from None
    try:
        with open(tmp, mode, opener=lambda *_: fd, **open_args) as f:   # mkstemp's file, f.name its name
            yield f
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())   # mkstemp makes the file private; the result is an ordinary file
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    if durable:   # make the rename itself durable
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def remove_leftovers(folder, name=None):
    """Remove the temporary files that killed writes into `folder` left (only those of the file `name`, if
    given); returns how many there were."""
    prefix = _prefix(name) if name else ".tmp-"
    leftovers = [f for f in os.listdir(folder) if f.startswith(prefix)]
    for f in leftovers:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(folder, f))
    return len(leftovers)


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask

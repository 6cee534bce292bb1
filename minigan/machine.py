"""Machine tuning: everything minigan does to the process to run fast on a CPU, in one place.

None of it changes a result; each item can be switched off from the environment. Read it to know what
minigan does to your process; skip it to learn how autograd works.

  * OPENBLAS_THREAD_TIMEOUT=4, set before NumPy loads OpenBLAS (see `num_threads`), unless already set;
    where NumPy was imported first, OpenBLAS's threads are restarted to take it (`restart_openblas_threads`).
  * glibc keeps freed memory for reuse (`keep_freed_memory`); MINIGAN_KEEP_FREED_MEMORY=0 leaves it alone.
  * minigan's own NumPy kernels cut their work over the cores (`on_all_cores`); MINIGAN_NUM_THREADS sets
    how many threads, 1 keeps every kernel on the calling thread.

Both settings are read once, on import; a value that is neither stops the process with one line naming it.
This module imports no NumPy: minigan/__init__.py imports it first, so the OpenBLAS setting comes in time.
"""
import ctypes
import os
import sys
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor

# Before NumPy loads OpenBLAS (see `num_threads`): this line must run before `import numpy`.
_TIMEOUT_CHOSEN = "OPENBLAS_THREAD_TIMEOUT" in os.environ   # by the user, before minigan: left as it is
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")
_NUMPY_CAME_FIRST = "numpy" in sys.modules                  # then OpenBLAS has read its environment already


# --------------------------------------------------------------------------- host memory

def keep_freed_memory():
    """Ask glibc to keep freed blocks for reuse instead of returning them to the operating system.

    NumPy allocates every intermediate array with malloc. By default glibc hands blocks of more than a
    few megabytes back to the system when they are freed, and the next training step pays a page fault
    for every 4 KiB of them again (about 6,500 faults, tens of milliseconds, per reference DCGAN step on a
    2-core machine). Raising the mmap and trim thresholds keeps them in the heap. Called once on import;
    set MINIGAN_KEEP_FREED_MEMORY=0 to leave the allocator as it is. Does nothing off glibc.
    """
    keep = os.environ.get("MINIGAN_KEEP_FREED_MEMORY", "1")
    if keep not in ("0", "1"):
        raise ValueError(f"MINIGAN_KEEP_FREED_MEMORY must be 0 (leave the allocator alone) or 1; got {keep!r}")
    if keep == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
        return bool(libc.mallopt(M_MMAP_THRESHOLD, 1 << 30) and libc.mallopt(M_TRIM_THRESHOLD, (1 << 31) - 1))
    except (OSError, AttributeError):  # not glibc
        return False


# --------------------------------------------------------------------------- threads

def num_threads():
    """How many threads minigan's own NumPy kernels split their work over (at least 1).

    The matrix products run on OpenBLAS's threads; the layout kernels around them (im2col, col2im) run on
    minigan's (`on_all_cores`). Those can only run at once if OpenBLAS's threads let go of the cores
    when a product ends: by default each one spins, waiting for the next product, for about 2^28 cycles
    (a tenth of a second), which is longer than the gap between two products in a training step. So
    OPENBLAS_THREAD_TIMEOUT=4 is set at the top of this module (2^4 cycles, then they sleep), unless the
    environment sets it already. OpenBLAS reads it once, when it is loaded: if NumPy was imported before
    minigan, its threads are restarted to take it (`restart_openblas_threads`).
    MINIGAN_NUM_THREADS overrides the count; 1 keeps every kernel on the calling thread.
    """
    if "MINIGAN_NUM_THREADS" in os.environ:
        value = os.environ["MINIGAN_NUM_THREADS"]
        if not value.strip().isdigit() or int(value) < 1:
            raise ValueError(f"MINIGAN_NUM_THREADS must be a whole number of threads, 1 or more; got {value!r}")
        return int(value)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def loaded_openblas():
    """The OpenBLAS libraries this process has loaded, as ctypes handles (NumPy's, and any other package's
    own copy): none off Linux, whose /proc/self/maps lists them, or under another BLAS."""
    try:
        with open("/proc/self/maps") as maps:   # a mapped file's path is the sixth field of its line
            paths = sorted({fields[5].strip() for fields in (line.split(maxsplit=5) for line in maps)
                            if len(fields) == 6})
    except OSError:
        return []
    return [ctypes.CDLL(path) for path in paths
            if "openblas" in os.path.basename(path).lower() and ".so" in path and os.path.exists(path)]


def restart_openblas_threads():
    """Give OpenBLAS's threads the setting above when NumPy was imported before minigan; True if done.

    Then OpenBLAS read its environment when NumPy loaded it, before this module set OPENBLAS_THREAD_TIMEOUT,
    and its threads spin for a tenth of a second after every product. Each spinning thread takes a core's
    time from minigan's kernels: on a 2-core AMD EPYC with AVX2, a reference DCGAN step at B = 64 took
    153.0-188.6 ms so, against 137.4-176.2 with minigan imported first, and 137.0-156.7 with NumPy first and
    this restart (`python benchmarks/bench_import_order.py`, three runs of three rounds; in each round the
    spinning process took 11-29% longer than the restarted one). OpenBLAS reads its environment
    again (`openblas_read_env`), and its threads are shut down (`blas_thread_shutdown_`, which OpenBLAS itself
    calls before every fork); its next product starts them again with the new setting. Nothing is done where
    the user set OPENBLAS_THREAD_TIMEOUT, or where a library lacks either function; where this is not the only
    thread (another could be in the middle of a product, and shutting its helpers down under it could hang
    it), a warning says what to do instead."""
    if _TIMEOUT_CHOSEN or not _NUMPY_CAME_FIRST:
        return False
    libraries = loaded_openblas()
    if libraries and threading.active_count() > 1:
        warnings.warn("NumPy was imported before minigan while other threads ran, so OpenBLAS's threads still "
                      "spin after every product and slow minigan's kernels: import minigan before NumPy, or set "
                      "OPENBLAS_THREAD_TIMEOUT=4 in the environment before Python starts", RuntimeWarning,
                      stacklevel=2)
        return False
    restarted = False
    for library in libraries:
        try:
            read_env, shut_down = library.openblas_read_env, library.blas_thread_shutdown_
        except AttributeError:
            continue
        read_env()
        shut_down()
        restarted = True
    return restarted


# Read once, on import. A bad value ends the process with one line, as Python itself does for a bad
# PYTHONHASHSEED: it is the process's setting, with no caller to hand an error to.
try:
    keep_freed_memory()
    THREADS = num_threads()
except ValueError as error:
    sys.exit(f"error: {error}")
OPENBLAS_RESTARTED = restart_openblas_threads()   # True where NumPy came first and its OpenBLAS was restarted

SERIAL_BELOW = 1 << 16   # numbers moved; under this, handing work to another thread costs more than it saves
_pool = None
_pool_pid = None


def _pool_of_this_process():
    global _pool, _pool_pid
    if _pool_pid != os.getpid():  # first use, or a forked child (which has the pool object but not its threads)
        _pool, _pool_pid = ThreadPoolExecutor(THREADS - 1, thread_name_prefix="minigan-kernel"), os.getpid()
    return _pool


def on_all_cores(work, length, size):
    """Call work(part) for the slices `part` that cut range(length) into one piece per thread, the calling
    thread taking the first. NumPy lets go of the GIL inside its copies and ufunc loops, so the pieces run
    at once on separate cores. `size` is how many numbers the whole work moves."""
    pieces = min(THREADS, length)
    if pieces < 2 or size < SERIAL_BELOW:
        work(slice(0, length))
        return
    bounds = [length * i // pieces for i in range(pieces + 1)]
    others = [_pool_of_this_process().submit(work, slice(a, b)) for a, b in zip(bounds[1:-1], bounds[2:])]
    work(slice(bounds[0], bounds[1]))
    for other in others:
        other.result()

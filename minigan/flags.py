"""What every command line (the examples, `python -m minigan`) checks of its flags before it starts: each
refusal is one line that names the flag and the value, never a traceback from deep inside a run."""
import math
import os
import sys
import warnings


def name(dest):
    """The flag of an argparse destination: batch_size -> --batch-size."""
    return "--" + dest.replace("_", "-")


def out_of_range(args, counts=(), positive=(), seeds=("seed",)):
    """A message naming the first flag of `args` out of its range, or None. `counts` must be at least 1,
    `positive` finite and above 0 (for both, None is a flag left to its default), and seeds 0 or more (NumPy's
    generators take no negative seed). A flag that takes several values (nargs) has each checked."""
    def values(dest):
        value = getattr(args, dest)
        return [v for v in (value if isinstance(value, list) else [value]) if v is not None]
    for dest in counts:
        for value in values(dest):
            if value < 1:
                return f"{name(dest)} must be at least 1, got {value}"
    for dest in positive:
        for value in values(dest):
            if not 0 < value < math.inf:
                return f"{name(dest)} must be a positive number, got {value}"
    for dest in seeds:
        for value in values(dest):
            if value < 0:
                return f"{name(dest)} must be 0 or more, got {value}"
    return None


def add_device(parser, what="run"):
    """The --device flag, the same in every program: where to `what`."""
    from minigan.backend import DEVICES
    parser.add_argument("--device", choices=DEVICES, default="cpu",
                        help=f"where to {what}: cpu (the default) or cuda (a GPU, through CuPy)")


def picture_name(path, flag):
    """A message if `path` does not end as a picture's name does (gan.plots.PICTURES), or None."""
    from minigan.gan.plots import PICTURES
    if not path.lower().endswith(PICTURES):
        return f"{flag} {path}: a picture's name must end in one of {', '.join(PICTURES)}"
    return None


def file_to_write(path, flag, folder_is_made=False, ending=None):
    """A message if `path` cannot name a file to write, or None: a name that does not end in `ending` (NumPy
    would add .npy or .npz to it and write another file), a folder by that name, or (unless the program makes
    it, `folder_is_made`) no folder to hold it."""
    if ending and not path.endswith(ending):
        return (f"{flag} {path}: the file name must end in {ending}"
                + (" (NumPy would add it)" if ending in (".npy", ".npz") else ""))
    if os.path.isdir(path):
        return f"{flag} {path}: is a folder; name a file"
    folder = os.path.dirname(path) or "."
    if not folder_is_made and not os.path.isdir(folder):
        return f"{flag} {path}: there is no folder {folder}"
    return None


def make_folder(path, flag="--out"):
    """Make the output folder `path` (and its parents), or exit with one line saying why it cannot be made.
    Returns whether the folder is new."""
    if os.path.exists(path) and not os.path.isdir(path):
        sys.exit(f"error: {flag} {path} is a file, not a folder")
    new = not os.path.exists(path)
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as error:
        sys.exit(f"error: {flag} {path}: cannot make this folder ({error.strerror or error})")
    return new


def one_line(message, category, filename, lineno, line=None):
    """A warning as a command prints it: `warning: ...`, without Python's file, line number and source line,
    which point into minigan's code rather than at what the user did."""
    return f"warning: {message}\n"


def run(main):
    """Run a program's `main` as its command: warnings are one line each; Ctrl-C ends it with one line and the
    shell's code for it (130), and a failed allocation or write (a full disk) with one line saying so, not a
    traceback from wherever it was. (On Ctrl-C the main job does more: it stops between two steps, saved.)"""
    warnings.formatwarning = one_line
    try:
        result = main()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except MemoryError as error:   # NumPy's message says how much, and for what shape
        sys.exit(f"error: out of memory: {error or 'an allocation failed'}; a smaller model or batch needs less")
    except OSError as error:   # a full disk, or a folder that cannot be written, while writing a result
        sys.exit(f"error: {error}")
    sys.exit(result if isinstance(result, int) else 0)   # the toy worlds return their figures, for tests

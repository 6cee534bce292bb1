"""Your own pictures: every PNG or JPEG under a folder, as square images of one size.

    images, labels, classes = load_folder("photos/", size=64, channels=3)   # (n, 3, 64, 64) uint8

Each file is read with Pillow, converted to RGB (channels=3) or grey (channels=1), centre-cropped to a square
and resized to `size` x `size`. A file's label is the name of the sub-folder of `folder` it lies in (files
directly in `folder` form a class of their own, named ""), so a folder of sub-folders is a conditional
dataset. Files that Pillow cannot read are skipped, with one warning that says how many and names the first
few; a folder with no readable picture is an error.

Decoding thousands of files takes a while, so the decoded set is kept beside the pictures as one uint8 npz
file (CACHE_NAME), keyed on the list of files with their sizes and modification times and on the size and
channels asked for: a folder whose files change is read again. The cache is written to a temporary file and
renamed, and read without unpickling.
"""
import hashlib
import os
import sys
import warnings

import numpy

from minigan import files
from minigan.data.sources import IMAGE_SIZES, DataNotFound

EXTENSIONS = (".png", ".jpg", ".jpeg")
CACHE_NAME = ".minigan-cache-{size}px-{channels}ch.npz"
PROGRESS_FROM = 10_000   # files: from this many on, decoding shows a progress bar
NAMED = 5                # unreadable files named in the warning


def list_pictures(folder):
    """The PNG and JPEG files under `folder`, recursively, as sorted paths relative to it."""
    found = []
    for root, dirs, names in os.walk(folder):
        dirs.sort()
        for name in names:
            if name.lower().endswith(EXTENSIONS):
                found.append(os.path.relpath(os.path.join(root, name), folder))
    return sorted(found)


def pictures_under(folder):
    """list_pictures(folder), or DataNotFound saying why there are none: not a folder, or no pictures in it."""
    if not os.path.isdir(folder):
        raise DataNotFound(f"{folder}: " + ("a file, not a folder" if os.path.exists(folder) else "no such folder"))
    found = list_pictures(folder)
    if not found:
        raise DataNotFound(f"{folder}: no pictures in it or below it (looked for {', '.join(EXTENSIONS)} files)")
    return found


def _key(folder, files, size, channels):
    """A digest of what the decoded set depends on: the files, their sizes and times, the shape asked for."""
    h = hashlib.sha256(f"{size}px {channels}ch\n".encode())
    for name in files:
        try:
            stat = os.stat(os.path.join(folder, name))
            h.update(f"{name}\t{stat.st_size}\t{stat.st_mtime_ns}\n".encode())
        except OSError:   # a broken link, or a file gone since the listing: decoding skips it as unreadable
            h.update(f"{name}\tunreadable\n".encode())
    return h.hexdigest()


def square(image, size):
    """A Pillow image centre-cropped to a square and resized to size x size."""
    from PIL import Image
    w, h = image.size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    return image.crop((left, top, left + side, top + side)).resize((size, size), Image.Resampling.LANCZOS)


def _decode(path, size, channels):
    """The picture at `path` as a uint8 array (channels, size, size), or None if Pillow cannot read it."""
    from PIL import Image
    try:
        with Image.open(path) as image:
            image = square(image.convert("RGB" if channels == 3 else "L"), size)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None
    array = numpy.asarray(image, dtype=numpy.uint8)
    return array.transpose(2, 0, 1) if channels == 3 else array[None]


def _read_cache(path, key):
    """(images, labels, classes, unreadable files) from the cache at `path` if it was made for `key`."""
    try:
        with numpy.load(path, allow_pickle=False) as cached:
            if str(cached["key"]) != key:
                return None
            return (cached["images"], cached["labels"], [str(c) for c in cached["classes"]],
                    [str(name) for name in cached["unreadable"]])
    except (OSError, ValueError, KeyError, MemoryError):   # absent, damaged (a header claiming terabytes, too),
        return None                                         # or from another version: read the pictures


def _write_cache(path, key, images, labels, classes, unreadable):
    try:
        with files.atomic_write(path) as f:
            numpy.savez(f, key=numpy.array(key), images=images, labels=labels, classes=numpy.array(classes, dtype=str),
                        unreadable=numpy.array(unreadable, dtype=str))
    except OSError as error:   # a read-only folder: everything works, only the next load decodes again
        warnings.warn(f"could not keep the decoded pictures in {path} ({error}); they will be decoded again "
                      "next time", stacklevel=3)


def load_folder(folder, size, channels=3):
    """(images (n, channels, size, size) uint8, labels (n,) int64, class names) of the pictures under `folder`,
    from the cache beside them when it still describes them."""
    if size not in IMAGE_SIZES:
        raise ValueError(f"the image size must be 28, 32 or 64 (the sizes the players are built for), got {size}")
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 (grey) or 3 (colour), got {channels}")
    files = pictures_under(folder)
    key = _key(folder, files, size, channels)
    cache = os.path.join(folder, CACHE_NAME.format(size=size, channels=channels))
    cached = _read_cache(cache, key)
    if cached is None:
        cached = _decode_all(folder, files, size, channels)
        _write_cache(cache, key, *cached)
    images, labels, classes, unreadable = cached
    if unreadable:   # said on every load, from the cache too
        warnings.warn(f"{folder}: skipped {len(unreadable)} file(s) that could not be read as pictures: "
                      + ", ".join(unreadable[:NAMED]) + (", ..." if len(unreadable) > NAMED else ""), stacklevel=2)
    return images, labels, classes


def _decode_all(folder, files, size, channels):
    from tqdm import tqdm
    images, kept, unreadable = [], [], []
    for name in tqdm(files, desc=f"reading {folder}", unit="file", file=sys.stderr,
                     disable=len(files) < PROGRESS_FROM or None):
        array = _decode(os.path.join(folder, name), size, channels)
        if array is None:
            unreadable.append(name)
        else:
            images.append(array)
            kept.append(name)
    if not images:
        raise DataNotFound(f"{folder}: none of its {len(files)} picture files could be read")
    groups = [name.split(os.sep)[0] if os.sep in name else "" for name in kept]
    classes = sorted(set(groups))
    labels = numpy.array([classes.index(g) for g in groups], dtype=numpy.int64)
    return numpy.stack(images), labels, classes, unreadable

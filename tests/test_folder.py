"""Loading a folder of the user's own pictures: nested folders, colour, grey and CMYK files, odd sizes, a
corrupt file; centre-cropping; the cache beside the pictures and what makes it stale; the errors."""
import importlib.util
import io
import os
import shutil
import time
import warnings
import zipfile

import numpy
import pytest
from PIL import Image, ImageDraw

from minigan import checkpoint, data, gan
from minigan.data import folder as pictures

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def shape_picture(kind, colour, size=(40, 30), background=(20, 20, 20)):
    image = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(image)
    w, h = size
    box = (w // 2 - 8, h // 2 - 8, w // 2 + 8, h // 2 + 8)
    (draw.ellipse if kind == "circle" else draw.rectangle)(box, fill=colour)
    return image


@pytest.fixture
def folder(tmp_path):
    """circles/ (3 PNGs, one grey, odd sizes), squares/ and squares/small/ (a JPEG, a CMYK JPEG), a corrupt
    file, a text file that is no picture, and one picture at the top."""
    root = tmp_path / "pictures"
    (root / "circles").mkdir(parents=True)
    (root / "squares" / "small").mkdir(parents=True)
    shape_picture("circle", (255, 0, 0)).save(root / "circles" / "a.png")
    shape_picture("circle", (0, 255, 0), size=(30, 50)).save(root / "circles" / "b.PNG")
    shape_picture("circle", (0, 0, 255)).convert("L").save(root / "circles" / "grey.png")
    shape_picture("square", (255, 255, 0)).save(root / "squares" / "c.jpg", quality=95)
    shape_picture("square", (0, 255, 255), size=(64, 64)).convert("CMYK").save(root / "squares" / "small" / "d.jpeg")
    shape_picture("square", (255, 0, 255)).save(root / "top.png")
    (root / "squares" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not a picture")
    (root / "notes.txt").write_text("not a picture")
    return root


def test_every_picture_is_read_squared_and_labelled_by_its_sub_folder(folder):
    with pytest.warns(UserWarning, match=r"skipped 1 file\(s\).*broken.png"):
        images, labels, classes = data.load_folder(str(folder), size=32, channels=3)
    assert images.shape == (6, 3, 32, 32) and images.dtype == numpy.uint8
    assert classes == ["", "circles", "squares"]
    names = ["circles/a.png", "circles/b.PNG", "circles/grey.png", "squares/c.jpg", "squares/small/d.jpeg", "top.png"]
    assert pictures.list_pictures(str(folder)) == sorted(names + ["squares/broken.png"])
    assert labels.tolist() == [1, 1, 1, 2, 2, 0]
    centre = images[:, :, 16, 16].astype(int)
    assert centre[0].tolist() == pytest.approx([255, 0, 0], abs=3)       # the red circle, at the centre
    assert max(abs(centre[2] - centre[2].mean())) < 3                     # a grey file in colour: R = G = B
    assert centre[4].tolist() == pytest.approx([0, 255, 255], abs=12)     # CMYK converted to RGB
    with pytest.warns(UserWarning):
        grey, _, _ = data.load_folder(str(folder), size=28, channels=1)
    assert grey.shape == (6, 1, 28, 28)


def test_a_picture_is_cropped_to_its_centre_square():
    image = Image.new("RGB", (60, 20), (255, 0, 0))
    ImageDraw.Draw(image).rectangle((20, 0, 39, 19), fill=(0, 0, 255))     # a blue middle between red sides
    squared = numpy.asarray(pictures.square(image, 32))
    assert squared.shape == (32, 32, 3)
    assert numpy.abs(squared.astype(int) - [0, 0, 255]).max() <= 2


def test_the_decoded_set_is_cached_and_read_again_when_the_folder_changes(folder, monkeypatch):
    with pytest.warns(UserWarning):
        first = data.load_folder(str(folder), size=32)
    cache = folder / ".minigan-cache-32px-3ch.npz"
    assert cache.exists()
    decoded = []
    original = pictures._decode
    monkeypatch.setattr(pictures, "_decode", lambda *a: decoded.append(a) or original(*a))
    with pytest.warns(UserWarning, match="broken.png"):        # said again on a load from the cache
        again = data.load_folder(str(folder), size=32)
    assert decoded == [] and all(numpy.array_equal(a, b) for a, b in zip(first[:2], again[:2]))
    shape_picture("circle", (9, 9, 9)).save(folder / "circles" / "new.png")         # a file added
    with pytest.warns(UserWarning):
        images, _, _ = data.load_folder(str(folder), size=32)
    assert len(images) == 7 and len(decoded) == 8
    later = time.time() + 10
    os.utime(folder / "top.png", (later, later))                                    # a file touched
    with pytest.warns(UserWarning):
        data.load_folder(str(folder), size=32)
    assert len(decoded) == 16
    with pytest.warns(UserWarning):
        data.load_folder(str(folder), size=64)                                      # another size: its own cache
    assert (folder / ".minigan-cache-64px-3ch.npz").exists()
    cache.write_bytes(b"damaged")                                                   # a damaged cache is remade
    with pytest.warns(UserWarning):
        images, _, _ = data.load_folder(str(folder), size=32)
    assert len(images) == 7 and numpy.load(cache)["images"].shape == (7, 3, 32, 32)
    with numpy.load(cache) as kept:   # a cache whose images claim a terabyte (a MemoryError, before): remade
        key = kept["key"]
    with zipfile.ZipFile(cache, "w") as archive:
        archive.writestr("key.npy", npy_bytes(key))
        header = io.BytesIO()
        numpy.lib.format.write_array_header_1_0(header, {"descr": "|u1", "fortran_order": False,
                                                        "shape": (10 ** 12, 3, 32, 32)})
        archive.writestr("images.npy", header.getvalue() + bytes(100))
    with pytest.warns(UserWarning):
        images, _, _ = data.load_folder(str(folder), size=32)
    assert len(images) == 7 and numpy.load(cache)["images"].shape == (7, 3, 32, 32)


def test_a_broken_link_is_skipped_as_unreadable_and_read_once_it_leads_somewhere(folder):
    """A link to a file that is not there stopped the load with '[Errno 2] No such file or directory' (the
    cache's key stats every file); a link to the folder itself is not followed round and round."""
    (folder / "circles" / "link.png").symlink_to(folder / "circles" / "later.png")
    (folder / "squares" / "again").symlink_to(folder, target_is_directory=True)
    with pytest.warns(UserWarning, match=r"skipped 2 file\(s\).*circles/link.png"):
        images, _, _ = data.load_folder(str(folder), size=32)
    assert len(images) == 6
    shape_picture("circle", (9, 9, 9)).save(folder / "circles" / "later.png")   # the link now leads to a picture
    with pytest.warns(UserWarning, match=r"skipped 1 file\(s\)"):
        images, _, _ = data.load_folder(str(folder), size=32)
    assert len(images) == 8   # later.png, and link.png to it


def npy_bytes(array):
    buffer = io.BytesIO()
    numpy.save(buffer, array)
    return buffer.getvalue()


def test_folders_without_pictures_and_bad_requests_are_errors(tmp_path):
    with pytest.raises(data.DataNotFound, match="absent: no such folder$"):
        data.load_folder(str(tmp_path / "absent"), 32)
    (tmp_path / "a.png").write_bytes(b"not a folder")
    with pytest.raises(data.DataNotFound, match="a.png: a file, not a folder$"):
        data.load_folder(str(tmp_path / "a.png"), 32)
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    (tmp_path / "empty" / "readme.txt").write_text("hello")
    with pytest.raises(data.DataNotFound, match="no pictures in it or below it"):
        data.load_folder(str(tmp_path / "empty"), 32)
    (tmp_path / "empty" / "bad.jpg").write_bytes(b"garbage")
    with pytest.raises(data.DataNotFound, match="none of its 1 picture files could be read"):
        data.load_folder(str(tmp_path / "empty"), 32)
    with pytest.raises(ValueError, match="must be 28, 32 or 64"):
        data.load_folder(str(tmp_path), 48)
    with pytest.raises(ValueError, match="channels must be 1"):
        data.load_folder(str(tmp_path), 32, channels=4)


@pytest.fixture
def shapes(tmp_path):
    """48 coloured shapes in circles/, squares/ and triangles/, made by scripts/make_shapes.py."""
    spec = importlib.util.spec_from_file_location("make_shapes", os.path.join(ROOT, "scripts", "make_shapes.py"))
    make_shapes = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_shapes)
    make_shapes.main([str(tmp_path / "shapes"), "--n", "48"])
    assert sorted(os.listdir(tmp_path / "shapes")) == ["circles", "squares", "triangles"]
    with pytest.raises(SystemExit):   # never over pictures already there
        make_shapes.main([str(tmp_path / "shapes"), "--n", "48"])
    (tmp_path / "mine" / "cats").mkdir(parents=True)
    shape_picture("circle", (1, 2, 3)).save(tmp_path / "mine" / "cats" / "tom.png")
    with pytest.raises(SystemExit):   # nor beside someone's own classes, which it joined before
        make_shapes.main([str(tmp_path / "mine"), "--n", "3"])
    assert os.listdir(tmp_path / "mine") == ["cats"]
    with pytest.raises(SystemExit) as stop:   # a negative seed, a file for a folder: tracebacks, before
        make_shapes.main([str(tmp_path / "other"), "--seed", "-1"])
    assert stop.value.code == 2
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(SystemExit, match="^error: folder .*a_file is a file, not a folder$"):
        make_shapes.main([str(tmp_path / "a_file"), "--n", "3"])
    return tmp_path / "shapes"


def test_the_main_job_trains_on_a_folder_in_colour_and_samples_it(example, tmp_path, shapes):
    import matplotlib.image
    from tests.test_main_job import SMALL, check_resuming_is_exact, run_cli
    flags = ["--dataset", "folder", "--data", str(shapes), "--image-size", "32", "--conditional"]
    assert example.main(SMALL + flags + ["--steps", "4", "--out", str(tmp_path / "run")]) == 0
    state = checkpoint.load(tmp_path / "run" / "checkpoint.npz")
    assert (state["config"]["image_size"], state["config"]["channels"], state["config"]["classes"]) == (32, 3, 3)
    grid = matplotlib.image.imread(tmp_path / "run" / "samples_4.png")
    assert grid.ndim == 3 and grid.shape[2] in (3, 4)   # a colour picture (RGB or RGBA)
    # one column per class (three sub-folders), ten rows: before, ten columns of which seven were classes the
    # players never saw
    assert grid.shape[:2] == gan.tile(numpy.zeros((30, 3, 32, 32)), 3).shape[:2]
    result = run_cli("-m", "minigan", "sample", "--checkpoint", str(tmp_path / "run" / "checkpoint.npz"), "--n", "4",
                     "--png-dir", str(tmp_path / "pngs"))
    assert result.returncode == 0, result.stderr
    assert state["config"]["class_names"] == ["circles", "squares", "triangles"]
    for label in ("squares", "1"):   # by the sub-folder's name, or by its number: the same samples
        result = run_cli("-m", "minigan", "sample", "--checkpoint", str(tmp_path / "run" / "checkpoint.npz"),
                         "--n", "3", "--label", label, "--npy", str(tmp_path / f"{label}.npy"))
        assert result.returncode == 0, result.stderr
    numpy.testing.assert_array_equal(numpy.load(tmp_path / "squares.npy"), numpy.load(tmp_path / "1.npy"))
    for label in ("3", "hexagons"):
        result = run_cli("-m", "minigan", "sample", "--checkpoint", str(tmp_path / "run" / "checkpoint.npz"),
                         "--label", label)
        assert result.returncode == 1 and result.stderr.strip() == (
            f"error: --label '{label}' is none of the model's classes: 0 circles, 1 squares, 2 triangles")
    with Image.open(tmp_path / "pngs" / "sample_00000.png") as image:
        assert image.mode == "RGB" and image.size == (32, 32)
    scored = run_cli("-m", "minigan", "eval", "--checkpoint", str(tmp_path / "run" / "checkpoint.npz"))
    assert scored.returncode != 0 and "trained on 'folder' images" in scored.stderr
    (tmp_path / "resume").mkdir()
    check_resuming_is_exact(example, tmp_path / "resume", flags)


def test_a_conditional_run_names_its_classes_and_needs_two_of_them(example, tmp_path, shapes, capsys):
    from tests.test_main_job import SMALL
    flags = SMALL + ["--dataset", "folder", "--image-size", "32", "--conditional", "--steps", "1"]
    assert example.main(flags + ["--data", str(shapes), "--out", str(tmp_path / "run")]) == 0
    assert "classes (the grid's columns, and sample's --label): 0 circles, 1 squares, 2 triangles" in \
        capsys.readouterr().out.splitlines()
    shutil.copytree(shapes / "circles", tmp_path / "only_circles" / "circles")
    for folder in (shapes / "circles", tmp_path / "only_circles"):   # one class: no sub-folders, or only one
        with pytest.raises(SystemExit, match=f"^error: --conditional: {folder} holds 1 class\\(es\\) of pictures; "
                                             "the conditional players take 2 to 10, one sub-folder each$"):
            example.main(flags + ["--data", str(folder), "--out", str(tmp_path / "one")])


def test_folder_settings_that_make_no_sense_are_refused(example, tmp_path, shapes, capsys):
    with pytest.raises(SystemExit):
        example.parse_args(["--dataset", "folder"])
    assert "--dataset folder reads the pictures under --data DIR" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        example.parse_args(["--image-size", "64"])
    assert "--image-size and --channels are for --dataset folder" in capsys.readouterr().err
    (tmp_path / "nothing").mkdir()
    with pytest.raises(SystemExit, match="no pictures in it or below it"):
        example.main(["--dataset", "folder", "--data", str(tmp_path / "nothing"), "--out", str(tmp_path / "o")])
    (tmp_path / "link").symlink_to(shapes, target_is_directory=True)
    for out in (shapes / "run", shapes, tmp_path / "link" / "run"):   # its grids would become its pictures
        with pytest.raises(SystemExit):
            example.parse_args(["--dataset", "folder", "--data", str(shapes), "--out", str(out)])
        assert f"--out {out} lies inside --data {shapes}: the run's sample grids would be read" in capsys.readouterr().err
    example.parse_args(["--dataset", "folder", "--data", str(shapes), "--out", str(shapes) + "-run"])   # beside it


def test_a_command_prints_a_warning_as_one_line(folder, tmp_path):
    from tests.test_main_job import EXAMPLE, SMALL, run_cli
    result = run_cli(EXAMPLE, *SMALL, "--batch-size", "4", "--steps", "1", "--dataset", "folder", "--data", str(folder),
                     "--image-size", "32", "--out", str(tmp_path / "run"))
    assert result.returncode == 0, result.stderr
    # before: Python's "<file>:<line>: UserWarning: ..." and then that line of minigan's code
    assert [line for line in result.stderr.splitlines() if "warning" in line.lower()] == [
        f"warning: {folder}: skipped 1 file(s) that could not be read as pictures: "
        f"{os.path.join('squares', 'broken.png')}"]


def test_a_run_resumed_on_pictures_that_changed_says_so(example, tmp_path, shapes):
    """A resume is exact only on the same data; a folder can change between the two. It was silent."""
    from tests.test_main_job import SMALL
    flags = ["--dataset", "folder", "--data", str(shapes), "--image-size", "32"]
    ck = str(tmp_path / "run" / "checkpoint.npz")
    assert example.main(SMALL + flags + ["--steps", "2", "--out", str(tmp_path / "run")]) == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # the same pictures: no warning
        assert example.main(["--resume", ck, "--steps", "3"]) == 0
    os.remove(shapes / "circles" / sorted(os.listdir(shapes / "circles"))[0])
    with pytest.warns(UserWarning, match=f"^{ck}: the run was trained on 48 images that differ from these 47; it goes "
                                         "on, but not with the batches it would have drawn had it never stopped$"):
        assert example.main(["--resume", ck, "--steps", "4"]) == 0
    assert checkpoint.load(ck)["config"]["training"]["fingerprint"]["images"] == 47

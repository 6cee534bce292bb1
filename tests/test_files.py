"""Files written whole or not at all (minigan.files), and the writers that use it."""
import multiprocessing
import os
import random
import signal
import stat
import time

import numpy
import pytest
from PIL import Image

from minigan import files, gan


def test_a_write_replaces_the_file_and_leaves_an_ordinary_file_and_nothing_else(tmp_path):
    path = tmp_path / "scores.json"
    path.write_text("old")
    with files.atomic_write(path, "w") as f:
        f.write("new")
        assert path.read_text() == "old"   # nothing shows before the block ends
    assert path.read_text() == "new"
    assert os.listdir(tmp_path) == ["scores.json"]
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o666 & ~umask   # not mkstemp's private 0o600


def test_an_error_while_writing_leaves_the_old_file_and_no_temporary_file(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("step\n1\n")
    with pytest.raises(RuntimeError, match="disk full"):
        with files.atomic_write(path, "w", durable=True) as f:
            f.write("step\n")
            raise RuntimeError("disk full")
    assert path.read_text() == "step\n1\n"
    assert os.listdir(tmp_path) == ["log.csv"]


def test_a_symbolic_link_is_written_through(tmp_path):
    target = tmp_path / "real.png"
    target.write_bytes(b"old")
    link = tmp_path / "link.png"
    link.symlink_to(target)
    with files.atomic_write(link) as f:
        f.write(b"new")
    assert link.is_symlink() and target.read_bytes() == b"new"


def test_a_writer_that_takes_a_name_writes_the_temporary_file_which_keeps_the_extension(tmp_path):
    path = tmp_path / "frames.gif"
    path.write_bytes(b"old")
    frames = [Image.new("L", (4, 4), v) for v in (0, 255)]
    with files.atomic_write(path) as f:
        assert f.name.endswith(".gif") and os.path.dirname(f.name) == str(tmp_path)
        frames[0].save(f.name, save_all=True, append_images=frames[1:])   # Pillow picks GIF by the name
        assert path.read_bytes() == b"old"
    with Image.open(path) as gif:
        assert gif.format == "GIF" and gif.n_frames == 2
    with pytest.raises(ValueError, match="no frames"):
        with files.atomic_write(path) as f:
            frames[0].save(f.name)
            raise ValueError("no frames")
    with Image.open(path) as gif:
        assert gif.n_frames == 2   # the old file, whole
    assert os.listdir(tmp_path) == ["frames.gif"]


def test_a_folder_or_a_place_that_cannot_hold_files_is_named_as_the_file_asked_for(tmp_path):
    with pytest.raises(IsADirectoryError, match=f"^{tmp_path} is a folder, not a file$"):
        with files.atomic_write(tmp_path):
            pass
    missing = tmp_path / "none" / "a.png"
    with pytest.raises(FileNotFoundError, match=f"^cannot write {missing}: No such file or directory$"):
        with files.atomic_write(missing):
            pass
    assert os.listdir(tmp_path) == []


def test_leftovers_are_removed_by_name_or_all_at_once(tmp_path):
    for name in (".tmp-log.csv-abc", ".tmp-checkpoint.npz-def", "log.csv", ".hidden"):
        (tmp_path / name).write_text("x")
    assert files.remove_leftovers(tmp_path, "checkpoint.npz") == 1
    assert sorted(os.listdir(tmp_path)) == [".hidden", ".tmp-log.csv-abc", "log.csv"]
    assert files.remove_leftovers(tmp_path) == 1
    assert sorted(os.listdir(tmp_path)) == [".hidden", "log.csv"]


def test_a_run_holding_its_folder_removes_what_killed_writes_left(tmp_path):
    (tmp_path / ".tmp-curves.png-x1y2z3.png").write_bytes(b"half a picture")
    (tmp_path / "log.csv").write_text("step\n")
    with gan.claim_folder(str(tmp_path)):
        assert os.listdir(tmp_path) == ["log.csv"]


def _save_grids_forever(path):
    """Child process: write grids of ever brighter images until killed."""
    k = 0
    while True:
        k += 1
        gan.save_grid(numpy.full((16, 1, 28, 28), (k % 100) / 50 - 1, dtype=numpy.float32), path)


def test_a_picture_killed_at_random_moments_is_always_whole(tmp_path):
    path = str(tmp_path / "samples.png")
    gan.save_grid(numpy.zeros((16, 1, 28, 28), dtype=numpy.float32), path)
    context = multiprocessing.get_context("fork")
    chooser = random.Random(4321)
    for _ in range(20):
        child = context.Process(target=_save_grids_forever, args=(path,))
        child.start()
        time.sleep(chooser.uniform(0.05, 0.3))
        os.kill(child.pid, signal.SIGKILL)
        child.join()
        with Image.open(path) as picture:
            picture.load()   # a truncated PNG would raise here
    with gan.claim_folder(str(tmp_path)):
        assert os.listdir(tmp_path) == ["samples.png"]

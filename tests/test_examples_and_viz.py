"""The toy worlds run end to end with a tiny step count, and the graph drawing shows what was computed."""
import importlib.util
import os
import shutil
import subprocess
import sys

import numpy
import pytest
from PIL import Image

import minigan
from minigan import gan, viz

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_example(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, "examples", f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def assert_animation(path, frames):
    with Image.open(path) as gif:
        assert gif.format == "GIF" and gif.n_frames == frames


def test_toy_1d_draws_its_panel_and_gif(tmp_path):
    toy = load_example("toy_1d")
    frames = toy.main(["--steps", "40", "--frame-every", "20", "--out", str(tmp_path)])
    assert len(frames) == 3 and {"pg", "d", "d_star"} <= set(frames[-1])
    assert (tmp_path / "toy_1d_panel.png").stat().st_size > 0
    assert_animation(tmp_path / "toy_1d.gif", frames=3)
    assert sorted(os.listdir(tmp_path)) == ["toy_1d.gif", "toy_1d_panel.png"]   # no temporary file left
    f = frames[-1]
    assert numpy.all((0 <= f["d"]) & (f["d"] <= 1)) and numpy.all((0 <= f["d_star"]) & (f["d_star"] <= 1))
    assert abs(numpy.trapezoid(f["pg"], toy.GRID) - 1) < 0.05  # p_g is a density


def test_optimal_discriminator_is_one_half_where_the_densities_agree():
    toy = load_example("toy_1d")
    samples = numpy.random.default_rng(0).normal(toy.MEAN, toy.STD, 40_000)
    inside = (toy.GRID > 1.5) & (toy.GRID < 2.5)
    d_star = toy.p_data(toy.GRID) / (toy.p_data(toy.GRID) + toy.density(samples))
    assert numpy.abs(d_star[inside] - 0.5).max() < 0.02


def test_mixture_2d_measures_modes_and_quality(tmp_path):
    mix = load_example("mixture_2d")
    on_modes = numpy.repeat(mix.CENTRES, 30, axis=0) + 0.001
    assert mix.quality(on_modes, 0.02) == (8, 100.0)
    assert mix.quality(on_modes[:60], 0.02) == (2, 100.0)         # collapsed onto two modes
    assert mix.quality(numpy.zeros((100, 2)), 0.02) == (0, 0.0)   # all in the ring's empty middle
    histories = mix.main(["--steps", "4", "--every", "2", "--width", "16", "--out", str(tmp_path)])
    assert set(histories) == {name for name, _, _ in mix.RUNS}
    for name in ("mixture_2d_panel.png", "mixture_2d_modes.png"):
        assert (tmp_path / name).stat().st_size > 0
    assert_animation(tmp_path / "mixture_2d.gif", frames=3)
    assert not [name for name in os.listdir(tmp_path) if name.startswith(".tmp-")]


@pytest.mark.parametrize("loss", ["wgan", "wgan-gp"])
def test_mixture_2d_plays_a_critic_loss_and_draws_its_surface(tmp_path, loss):
    mix = load_example("mixture_2d")
    histories = mix.main(["--loss", loss, "--steps", "2", "--every", "1", "--width", "8", "--out", str(tmp_path)])
    assert list(histories) == [f"{loss}, k=5"] and len(histories[f"{loss}, k=5"]) == 3
    for name in ("critic_surface.png", "mixture_2d_panel.png", "mixture_2d.gif"):
        assert (tmp_path / name).stat().st_size > 0


def test_critic_surfaces_leave_the_clipped_critic_flat_and_the_penalized_one_steep(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(os.path.join(ROOT, "examples"))
    surfaces = load_example("critic_surfaces")
    norms = surfaces.main(["--steps", "150", "--width", "32", "--gp", "10", "--out", str(tmp_path)])
    assert norms["clipping"] < 0.1 and 0.5 < norms["penalty"] < 1.5   # lambda = 10 holds the norm near 1
    assert (tmp_path / "critic_surfaces.png").stat().st_size > 0


@pytest.mark.parametrize("name, flags, message", [
    ("toy_1d", ["--k", "0"], "--k must be at least 1, got 0"),
    ("toy_1d", ["--frame-every", "0"], "--frame-every must be at least 1, got 0"),
    ("toy_1d", ["--batch-size", "0"], "--batch-size must be at least 1, got 0"),
    ("toy_1d", ["--lr", "0"], "--lr must be a positive number, got 0.0"),
    ("toy_1d", ["--seed", "-1"], "--seed must be 0 or more, got -1"),
    ("mixture_2d", ["--lr", "inf"], "--lr must be a positive number, got inf"),
    ("mixture_2d", ["--seed", "-1"], "--seed must be 0 or more, got -1"),
    ("critic_surfaces", ["--sigma", "0"], "--sigma must be a positive number, got 0.0"),
    ("critic_surfaces", ["--seed", "-1"], "--seed must be 0 or more, got -1"),
])
def test_the_toy_worlds_refuse_a_flag_out_of_range_in_one_line(name, flags, message, capsys, monkeypatch):
    """Before, toy_1d checked no flag (--k 0 and --frame-every 0 ended in tracebacks, --batch-size 0 trained on
    empty batches), and a negative seed was a traceback from NumPy in every example."""
    monkeypatch.syspath_prepend(os.path.join(ROOT, "examples"))
    with pytest.raises(SystemExit) as stop:
        load_example(name).main(flags)
    assert stop.value.code == 2 and capsys.readouterr().err.splitlines()[-1].endswith(f"error: {message}")


@pytest.mark.parametrize("name", ["toy_1d", "mixture_2d", "critic_surfaces"])
def test_the_toy_worlds_say_in_one_line_why_their_out_folder_cannot_be_made(name, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(os.path.join(ROOT, "examples"))
    (tmp_path / "a_file").write_text("x")
    example = load_example(name)
    with pytest.raises(SystemExit, match=f"^error: --out {tmp_path / 'a_file'} is a file, not a folder$"):
        example.main(["--steps", "1", "--out", str(tmp_path / "a_file")])
    with pytest.raises(SystemExit, match=r"^error: --out .*a_file/run: cannot make this folder \(Not a directory\)$"):
        example.main(["--steps", "1", "--out", str(tmp_path / "a_file" / "run")])


def test_a_program_stopped_by_ctrl_c_says_so_in_one_line(capsys, monkeypatch):
    import warnings

    from minigan import flags
    monkeypatch.setattr(warnings, "formatwarning", warnings.formatwarning)   # flags.run sets a command's own

    def interrupted():
        raise KeyboardInterrupt
    for main, code in ((interrupted, 130), (lambda: 3, 3), (lambda: {"figures": 1}, 0)):
        with pytest.raises(SystemExit) as stop:
            flags.run(main)
        assert stop.value.code == code
    assert capsys.readouterr().err == "interrupted\n"


def test_a_program_out_of_memory_says_so_in_one_line(tmp_path):
    """Before, NumPy's traceback, ending in _ArrayMemoryError."""
    result = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "mixture_2d.py"), "--width", "100000000",
                             "--out", str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 1 and result.stderr.startswith("error: out of memory: Unable to allocate")
    assert len(result.stderr.splitlines()) == 1


def test_a_program_whose_disk_fills_up_says_so_in_one_line(monkeypatch):
    """Before, a toy world writing its figures to a full disk ended in a traceback from matplotlib."""
    import errno

    from minigan import flags

    def writes_to_a_full_disk():
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    with pytest.raises(SystemExit) as stop:
        flags.run(writes_to_a_full_disk)
    assert stop.value.code == "error: [Errno 28] No space left on device"


def test_graph_of_a_discriminator_step_shows_both_passes_through_d():
    G, D = gan.build_models(gan.default_config(ngf=4, ndf=4))
    fake = G(minigan.randn(2, 100))
    loss = gan.discriminator_loss(D(minigan.randn(2, 1, 28, 28)), D(fake.detach()))
    dot = viz.graph(loss, params={f"D.{k}": v for k, v in D.named_parameters()})
    assert dot.startswith("digraph") and dot.rstrip().endswith("}")
    assert dot.count('label="Conv2d"') == 6            # three convolutions, once for real and once for fake
    assert "D.main.0.weight" in dot and "ConvTranspose2d" not in dot  # the fake batch was detached from G


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_render_writes_an_image(tmp_path):
    x = minigan.tensor([1.0, 2.0], requires_grad=True)
    assert viz.render((x * x).sum(), str(tmp_path / "g.png")) == str(tmp_path / "g.png")
    assert (tmp_path / "g.png").read_bytes()[:4] == b"\x89PNG" and (tmp_path / "g.dot").exists()


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_render_names_what_it_cannot_draw(tmp_path):
    """An ending dot has no format for was a CalledProcessError traceback; a name without an ending asked dot for
    a format named after the whole file; a number for the tensor, an AttributeError."""
    x = minigan.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match=r"dot could not write .*g\.txt: Format: \"txt\" not recognized.*png.*; the "
                                         r"graph is in .*g\.dot$"):
        viz.render((x * x).sum(), str(tmp_path / "g.txt"))
    assert not (tmp_path / "g.txt").exists() and (tmp_path / "g.dot").exists()
    with pytest.raises(ValueError, match="has no ending to name the picture's format; name it like graph.png"):
        viz.render((x * x).sum(), str(tmp_path / "my.runs" / "graph"))
    with pytest.raises(TypeError, match="expected a minigan Tensor, not int"):
        viz.render(3, str(tmp_path / "k.png"))


def test_render_without_graphviz_says_so_and_still_writes_the_dot_file(tmp_path, monkeypatch):
    monkeypatch.setattr(viz.shutil, "which", lambda name: None)
    x = minigan.tensor([1.0, 2.0], requires_grad=True)
    with pytest.warns(UserWarning, match="Graphviz's dot is not installed.*apt-get install graphviz"):
        assert viz.render((x * x).sum(), str(tmp_path / "g.png")) is None
    assert (tmp_path / "g.dot").read_text().startswith("digraph") and not (tmp_path / "g.png").exists()

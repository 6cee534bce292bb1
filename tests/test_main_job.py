"""examples/mnist_gan.py end to end, exact resumption, the NaN guard, and `python -m minigan sample`."""
import csv
import importlib.util
import os
import subprocess
import sys

import numpy
import pytest

import minigan
from minigan import checkpoint, gan

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, "examples", "mnist_gan.py")
SMALL = ["--ngf", "4", "--ndf", "4", "--nz", "8", "--batch-size", "16", "--sample-every", "4"]


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("mnist_gan", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_cli(*args):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=ROOT)


def test_dry_run_writes_everything_it_promises(tmp_path):
    result = run_cli(EXAMPLE, "--dry-run", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    for name in ("samples_2.png", "samples_3.png", "curves.png", "log.csv", "checkpoint.npz"):
        assert (tmp_path / name).exists(), name
    assert "Wrote to" in result.stdout and "checkpoint.npz" in result.stdout
    with open(tmp_path / "log.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows] == [1, 2, 3]
    assert set(rows[0]) >= {"loss_D", "loss_G", "D(x)", "D(G(z)) before D step", "D(G(z)) after D step",
                            "grad_norm_D", "grad_norm_G"}


def test_help_explains_every_flag():
    out = run_cli(EXAMPLE, "--help").stdout
    for flag in ("--arch", "--conditional", "--loss", "--k", "--label-smoothing", "--steps", "--epochs",
                 "--batch-size", "--lr", "--beta1", "--nz", "--seed", "--device", "--dataset", "--data", "--out",
                 "--sample-every", "--resume", "--dry-run"):
        assert flag in out, flag


def _arrays(path):
    state = checkpoint.load(path)
    flat = {}
    for player in ("G", "D"):
        flat.update({f"{player}/{k}": v for k, v in state[player].items()})
    for opt in ("opt_G", "opt_D"):
        for i, s in enumerate(state[opt]["state"]):
            flat.update({f"{opt}/{i}/{k}": v for k, v in s.items()})
    return state, flat


def _losses(path):
    with open(path) as f:
        return [(r["step"], r["loss_D"], r["loss_G"], r["grad_norm_G"]) for r in csv.DictReader(f)]


@pytest.mark.parametrize("extra", [[], ["--arch", "mlp", "--conditional", "--k", "2"]], ids=["dcgan", "mlp-conditional-k2"])
def test_resuming_is_exact_bit_for_bit(example, tmp_path, extra):
    straight, stopped = tmp_path / "straight", tmp_path / "stopped"
    assert example.main(SMALL + extra + ["--steps", "8", "--out", str(straight)]) == 0
    assert example.main(SMALL + extra + ["--steps", "4", "--out", str(stopped)]) == 0
    assert example.main(SMALL + extra + ["--steps", "8", "--out", str(stopped),
                                         "--resume", str(stopped / "checkpoint.npz")]) == 0
    a_state, a = _arrays(straight / "checkpoint.npz")
    b_state, b = _arrays(stopped / "checkpoint.npz")
    assert a_state["step"] == b_state["step"] == 8 and a.keys() == b.keys()
    for k in a:
        assert numpy.array_equal(a[k], b[k]), k
    assert a_state["rng"] == b_state["rng"] and a_state["batches"] == b_state["batches"]
    assert _losses(straight / "log.csv") == _losses(stopped / "log.csv")


def test_resuming_with_another_architecture_is_refused(example, tmp_path):
    assert example.main(SMALL + ["--steps", "2", "--out", str(tmp_path)]) == 0
    with pytest.raises(SystemExit, match="made by another model .*'arch': \\('dcgan', 'mlp'\\)"):
        example.main(SMALL + ["--arch", "mlp", "--steps", "4", "--out", str(tmp_path),
                              "--resume", str(tmp_path / "checkpoint.npz")])


def test_a_diverging_run_stops_and_keeps_the_last_good_checkpoint(example, tmp_path, monkeypatch, capsys):
    real_step = gan.generator_step
    calls = {"n": 0}

    def failing_step(*args, **kwargs):
        calls["n"] += 1
        figures = real_step(*args, **kwargs)
        if calls["n"] == 6:
            figures["loss_G"] = figures["loss_G"] * float("nan")
        return figures

    monkeypatch.setattr(gan, "generator_step", failing_step)
    assert example.main(SMALL + ["--steps", "10", "--out", str(tmp_path)]) == 1
    assert "step 6: the generator's loss is nan" in capsys.readouterr().err
    assert checkpoint.load(tmp_path / "checkpoint.npz")["step"] == 4


def test_bad_flags_and_missing_data_are_explained(example, tmp_path):
    with pytest.raises(SystemExit):
        example.parse_args(["--k", "0"])
    with pytest.raises(SystemExit, match="no mnist IDX files"):
        example.main(["--data", str(tmp_path), "--out", str(tmp_path / "o")])
    if not minigan.gpu_available():
        with pytest.raises(SystemExit, match="CuPy|GPU"):
            example.main(["--device", "cuda", "--dry-run", "--out", str(tmp_path / "o")])


def test_sample_command_writes_grids_and_arrays(example, tmp_path):
    assert example.main(SMALL + ["--conditional", "--steps", "2", "--out", str(tmp_path)]) == 0
    ck = str(tmp_path / "checkpoint.npz")
    result = run_cli("-m", "minigan", "sample", "--checkpoint", ck, "--n", "30", "--npy", str(tmp_path / "s.npy"),
                     "--label", "7", "--out", str(tmp_path / "grid.png"))
    assert result.returncode == 0, result.stderr
    images = numpy.load(tmp_path / "s.npy")
    assert images.shape == (30, 28, 28) and images.dtype == numpy.uint8
    assert (tmp_path / "grid.png").exists()
    walk = run_cli("-m", "minigan", "sample", "--checkpoint", ck, "--interpolate", "--n", "30",
                   "--out", str(tmp_path / "walk.png"))
    assert walk.returncode == 0 and (tmp_path / "walk.png").exists()
    bad = run_cli("-m", "minigan", "sample", "--checkpoint", str(tmp_path / "log.csv"))
    assert bad.returncode != 0 and "log.csv" in bad.stderr


def test_sampling_with_a_label_from_an_unconditional_model_is_refused(example, tmp_path):
    assert example.main(SMALL + ["--steps", "1", "--out", str(tmp_path)]) == 0
    result = run_cli("-m", "minigan", "sample", "--checkpoint", str(tmp_path / "checkpoint.npz"), "--label", "3")
    assert result.returncode != 0 and "not conditional" in result.stderr


def test_eval_every_scores_the_run_and_warns_of_collapse(example, tmp_path, capsys):
    assert example.main(SMALL + ["--steps", "4", "--eval-every", "2", "--eval-samples", "200",
                                 "--out", str(tmp_path)]) == 0
    with open(tmp_path / "eval.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows] == [2, 4] and all(int(r["samples"]) == 200 for r in rows)
    assert all(float(r["frechet_distance"]) > 0 for r in rows)
    # after 2 steps of a tiny model the samples are alike blobs, which the classifier files under few digits
    assert int(rows[0]["modes"]) < 8
    assert "warning: step 2: mode collapse?" in capsys.readouterr().err
    assert (tmp_path / "curves.png").exists()

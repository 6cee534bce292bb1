"""examples/mnist_gan.py end to end, exact resumption, the NaN guard, and `python -m minigan sample`."""
import csv
import errno
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time

import numpy
import pytest

import minigan
from minigan import checkpoint, files, gan

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, "examples", "mnist_gan.py")
SMALL = ["--ngf", "4", "--ndf", "4", "--nz", "8", "--batch-size", "16", "--sample-every", "4", "--no-final-score"]


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


# The figures of the first four steps, written by the main job of commit b1f8d11 (before Algorithm 1 was written
# once, in gan.train_step): step, loss_D, loss_G, D(x), D(G(z)) before and after D's step, both gradient norms.
PREVIOUS_FIGURES = {
    "dcgan": (["--ngf", "4", "--ndf", "4", "--nz", "8"], [
        (1, 1.3201608657836914, 0.6738583445549011, 0.5470327138900757, 0.5099081993103027, 0.5098514556884766,
         4.929136276245117, 0.7868250608444214),
        (2, 1.3243651390075684, 0.6650617122650146, 0.5493017435073853, 0.5144359469413757, 0.5142971277236938,
         5.081051349639893, 0.983163595199585),
        (3, 1.3162592649459839, 0.6572883129119873, 0.5584086179733276, 0.5186697840690613, 0.5183603763580322,
         4.108081817626953, 0.8926832675933838),
        (4, 1.2731926441192627, 0.6529821157455444, 0.5856454372406006, 0.5209531188011169, 0.5206565856933594,
         3.8830456733703613, 0.8936002850532532)]),
    "conditional dcgan, k = 2": (["--conditional", "--k", "2", "--ngf", "4", "--ndf", "4", "--nz", "8"], [
        (1, 1.3694672584533691, 0.6781541109085083, 0.5225739479064941, 0.5121707916259766, 0.5082564949989319,
         4.878975868225098, 0.32805129885673523),
        (2, 1.3271734714508057, 0.6764047741889954, 0.5490961074829102, 0.5148035883903503, 0.5097416639328003,
         5.013519287109375, 0.3592226803302765),
        (3, 1.2684141397476196, 0.6780804395675659, 0.5802084803581238, 0.5131961107254028, 0.5086000561714172,
         4.958495616912842, 0.37150222063064575),
        (4, 1.2396864891052246, 0.7144365310668945, 0.5753681063652039, 0.49504515528678894, 0.4900110960006714,
         5.429459571838379, 0.4333009719848633)]),
}


@pytest.mark.parametrize("run", sorted(PREVIOUS_FIGURES))
def test_the_one_loop_gives_the_numbers_of_the_loop_it_replaced(example, tmp_path, run):
    flags, expected = PREVIOUS_FIGURES[run]
    assert example.main(flags + ["--batch-size", "16", "--steps", "4", "--sample-every", "100",
                                 "--no-final-score", "--out", str(tmp_path)]) == 0
    columns = ["step", "loss_D", "loss_G", "D(x)", "D(G(z)) before D step", "D(G(z)) after D step",
               "grad_norm_D", "grad_norm_G"]
    with open(tmp_path / "log.csv") as f:
        rows = [[float(r[k]) for k in columns] for r in csv.DictReader(f)]
    numpy.testing.assert_allclose(rows, expected, rtol=1e-5)   # float32 rounding of a reordered sum at most


def test_a_run_into_a_pipe_prints_progress_lines(tmp_path):
    result = run_cli(EXAMPLE, *SMALL, "--steps", "4", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("step ")]
    assert [line.split()[1] for line in lines] == ["1/4", "2/4", "3/4", "4/4"]
    assert "loss_D" in lines[-1] and "s left" in lines[-1]


def test_a_conditional_grid_has_one_column_per_digit(example, tmp_path):
    import matplotlib.image
    assert example.main(SMALL + ["--conditional", "--steps", "2", "--out", str(tmp_path)]) == 0
    grid = matplotlib.image.imread(tmp_path / "samples_2.png")
    ten_by_ten = gan.tile(numpy.zeros((100, 1, 28, 28)), 10)
    assert grid.shape[:2] == ten_by_ten.shape[:2]


def test_help_explains_every_flag():
    out = run_cli(EXAMPLE, "--help").stdout
    for flag in ("--arch", "--conditional", "--loss", "--k", "--label-smoothing", "--steps", "--epochs",
                 "--batch-size", "--lr", "--beta1", "--nz", "--seed", "--device", "--dataset", "--data", "--out",
                 "--sample-every", "--resume", "--dry-run", "--optimizer", "--beta2", "--gp", "--r1", "--clip",
                 "--d-norm", "--spectral-norm"):
        assert flag in out, flag


def _arrays(path):
    state = checkpoint.load(path)
    flat = {}
    for player in ("G", "D"):
        flat.update({f"{player}/{k}": v for k, v in state[player].items()})
    for opt in ("opt_G", "opt_D"):
        for i, s in enumerate(state[opt]["state"]):
            flat.update({f"{opt}/{i}/{k}": v for k, v in s.items()})
    if "G_avg" in state:
        flat.update({f"G_avg/{k}": v for k, v in state["G_avg"]["model"].items()})
        flat["G_avg/updates"] = numpy.array(state["G_avg"]["updates"])
    return state, flat


def _losses(path):
    with open(path) as f:
        return [(r["step"], r["loss_D"], r["loss_G"], r["grad_norm_G"]) for r in csv.DictReader(f)]


@pytest.mark.parametrize("extra", [[], ["--arch", "mlp", "--conditional", "--k", "2"], ["--ema", "0.9"]],
                         ids=["dcgan", "mlp-conditional-k2", "dcgan-averaged"])
def test_resuming_is_exact_bit_for_bit(example, tmp_path, extra):
    check_resuming_is_exact(example, tmp_path, extra)


def check_resuming_is_exact(example, tmp_path, extra):
    """A run of 8 steps, and one of 4 steps resumed to 8, end with the same checkpoint and log, bit for bit;
    returns the checkpoint's arrays by name."""
    straight, stopped = tmp_path / "straight", tmp_path / "stopped"
    assert example.main(SMALL + extra + ["--steps", "8", "--out", str(straight)]) == 0
    assert example.main(SMALL + extra + ["--steps", "4", "--out", str(stopped)]) == 0
    assert example.main(SMALL + extra + ["--steps", "8", "--out", str(stopped),
                                         "--resume", str(stopped / "checkpoint.npz")]) == 0
    return assert_the_same_run(straight, stopped, steps=8)


def assert_the_same_run(one, other, steps):
    """Two run folders hold the same run at `steps`: checkpoint arrays, random state, batch position and logged
    losses, bit for bit; returns the checkpoint's arrays by name."""
    a_state, a = _arrays(one / "checkpoint.npz")
    b_state, b = _arrays(other / "checkpoint.npz")
    assert a_state["step"] == b_state["step"] == steps and a.keys() == b.keys()
    for k in a:
        assert numpy.array_equal(a[k], b[k]), k
    assert a_state["rng"] == b_state["rng"] and a_state["batches"] == b_state["batches"]
    assert _losses(one / "log.csv") == _losses(other / "log.csv")
    return a


def test_scoring_a_run_as_it_trains_leaves_its_updates_unchanged(example, tmp_path):
    """Loading the classifier drew its initial weights from the run's random stream: every later batch of noise
    differed from a run without --eval-every, and a resumed run differed from both."""
    assert example.main(SMALL + ["--steps", "4", "--out", str(tmp_path / "plain")]) == 0
    assert example.main(SMALL + ["--steps", "4", "--eval-every", "2", "--eval-samples", "100",
                                 "--out", str(tmp_path / "scored")]) == 0
    assert_the_same_run(tmp_path / "plain", tmp_path / "scored", steps=4)


def test_a_run_resumed_through_a_link_to_its_checkpoint_goes_on_in_its_own_folder(example, tmp_path):
    """A `latest.npz` link kept beside the runs: the run went on in the link's folder, its log begun afresh."""
    straight, run = tmp_path / "straight", tmp_path / "runs" / "first"
    assert example.main(SMALL + ["--steps", "6", "--out", str(straight)]) == 0
    assert example.main(SMALL + ["--steps", "4", "--out", str(run)]) == 0
    latest = tmp_path / "runs" / "latest.npz"
    latest.symlink_to(os.path.join("first", "checkpoint.npz"))   # a relative link, as `ln -s` makes
    assert example.main(["--resume", str(latest), "--steps", "6"]) == 0
    assert_the_same_run(straight, run, steps=6)
    assert sorted(os.listdir(tmp_path / "runs")) == ["first", "latest.npz"] and latest.is_symlink()


def test_a_run_resumed_into_another_folder_takes_its_own_history_there(example, tmp_path):
    """Its log and eval log begin with the resumed run's rows, from beside its checkpoint; never with the rows of
    another run that the new folder held (replaced with --force)."""
    flags = SMALL + ["--eval-every", "2", "--eval-samples", "100"]
    straight, first, other = tmp_path / "straight", tmp_path / "first", tmp_path / "other"
    assert example.main(flags + ["--steps", "6", "--out", str(straight)]) == 0
    assert example.main(flags + ["--steps", "4", "--out", str(first)]) == 0
    assert example.main(flags + ["--steps", "4", "--seed", "1", "--out", str(other)]) == 0   # another run
    assert example.main(["--steps", "6", "--out", str(other), "--force",
                         "--resume", str(first / "checkpoint.npz")]) == 0
    assert_the_same_run(straight, other, steps=6)   # the log's steps 1-6 included: none of the seed-1 run's
    scores = []
    for folder in (straight, other):
        with open(folder / "eval.csv") as f:
            scores.append([(r["step"], r["frechet_distance"]) for r in csv.DictReader(f)])
    assert [step for step, _ in scores[1]] == ["2", "4", "6"] and scores[0] == scores[1]


def test_resuming_with_another_architecture_is_refused(example, tmp_path):
    assert example.main(SMALL + ["--steps", "2", "--out", str(tmp_path)]) == 0
    with pytest.raises(SystemExit, match="--arch mlp contradicts the resumed run's 'dcgan'"):
        example.main(SMALL + ["--arch", "mlp", "--steps", "4", "--out", str(tmp_path),
                              "--resume", str(tmp_path / "checkpoint.npz")])


def test_a_resume_takes_the_runs_settings_from_its_checkpoint(example, tmp_path):
    flags = ["--arch", "mlp", "--conditional", "--k", "2", "--nz", "8", "--batch-size", "16", "--lr", "1e-3",
             "--seed", "5", "--ema", "0.9"]
    assert example.main(SMALL + flags + ["--steps", "2", "--out", str(tmp_path)]) == 0
    ck = str(tmp_path / "checkpoint.npz")
    assert example.main(["--steps", "4", "--out", str(tmp_path), "--resume", ck, "--no-final-score"]) == 0
    training = checkpoint.load(ck)["config"]["training"]
    assert (training["arch"], training["conditional"], training["k"], training["lr"], training["seed"],
            training["ema"], training["batch_size"], training["steps"]) == ("mlp", True, 2, 1e-3, 5, 0.9, 16, 4)
    with pytest.raises(SystemExit, match="--lr 0.5 contradicts the resumed run's 0.001"):
        example.main(["--steps", "6", "--out", str(tmp_path), "--resume", ck, "--lr", "0.5"])


def test_a_diverging_run_stops_and_keeps_the_last_good_checkpoint(example, tmp_path, monkeypatch, capsys):
    real_step = gan.train_step
    calls = {"n": 0}

    def failing_step(*args, **kwargs):
        calls["n"] += 1
        figures = real_step(*args, **kwargs)
        if calls["n"] == 6:
            figures["loss_G"] = figures["loss_G"] * float("nan")
        return figures

    monkeypatch.setattr(gan, "train_step", failing_step)
    assert example.main(SMALL + ["--steps", "10", "--out", str(tmp_path)]) == 1
    assert "step 6: the generator's loss is nan" in capsys.readouterr().err
    assert checkpoint.load(tmp_path / "checkpoint.npz")["step"] == 4


def test_a_full_disk_stops_the_run_in_one_line_that_names_the_step_its_checkpoint_holds(example, tmp_path,
                                                                                        monkeypatch, capsys):
    real_save = gan.save_run
    saves = {"n": 0}

    def save_on_a_disk_that_fills(*args, **kwargs):   # the first save fits, the second finds the disk full
        saves["n"] += 1
        if saves["n"] == 2:
            with files.atomic_write(args[0]) as f:   # as checkpoint.save: the error comes mid-write
                f.write(b"part of a checkpoint")
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_save(*args, **kwargs)

    monkeypatch.setattr(gan, "save_run", save_on_a_disk_that_fills)
    out = tmp_path / "run"
    assert example.main(SMALL + ["--steps", "8", "--out", str(out)]) == 1
    ck = out / "checkpoint.npz"
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"error: could not write at step 8: No space left on device; {ck} holds step 4: make room, then go on "
        f"with --resume {ck}")
    assert checkpoint.load(ck)["step"] == 4 and not [n for n in os.listdir(out) if n.startswith(".tmp-")]
    monkeypatch.setattr(gan, "save_run", real_save)   # room made
    assert example.main(["--steps", "8", "--resume", str(ck), "--no-final-score"]) == 0
    with open(out / "log.csv") as f:
        assert [int(r["step"]) for r in csv.DictReader(f)] == list(range(1, 9))


def test_the_default_batch_size_and_length_are_the_architectures_own(example):
    """The DCGAN's default job is 3,000 steps of 32 images (chosen by measurement: gan/training.py), the MLP's
    5,000 of 64; a batch size or length written out is taken as it is."""
    for arch, batch, steps in (("dcgan", 32, 3000), ("mlp", 64, 5000)):
        args = example.parse_args(["--arch", arch])
        assert (args.batch_size, example.total_steps(args, None)) == (batch, steps)
        assert (gan.DEFAULT_BATCH_SIZE[arch], gan.DEFAULT_STEPS[arch]) == (batch, steps)
    args = example.parse_args(["--batch-size", "64", "--steps", "2000"])   # the reference recipe's
    assert (args.batch_size, example.total_steps(args, None)) == (64, 2000)
    assert "(default: 32 for dcgan, 64 for mlp;" in " ".join(example.build_parser().format_help().split())


def test_bad_flags_and_missing_data_are_explained(example, tmp_path, capsys):
    with pytest.raises(SystemExit):
        example.parse_args(["--k", "0"])
    for flag, most in gan.models.LIMITS.items():   # a traceback from the model's own check, before
        with pytest.raises(SystemExit):
            example.parse_args([f"--{flag}", str(most + 1)])
        assert f"--{flag} must be at most {most}, got {most + 1}" in capsys.readouterr().err
    with pytest.raises(SystemExit):   # a traceback from batch norm's own check, before
        example.parse_args(["--arch", "mlp", "--batch-size", "1"])
    assert "the mlp generator's batch norm needs at least 2 images a batch" in capsys.readouterr().err
    example.parse_args(["--batch-size", "1"])   # the DCGAN's batch norm has 7 x 7 values a channel and image
    with pytest.raises(SystemExit, match="--batch-size 100000 is more than the 10,000 images"):
        example.main(["--batch-size", "100000", "--out", str(tmp_path / "big")])
    for flag, value in (("--batch-size", "100000"), ("--steps", "50"), ("--epochs", "1"), ("--sample-every", "1")):
        with pytest.raises(SystemExit):   # the dry run's own settings took their place, unsaid
            example.parse_args(["--dry-run", flag, value])
        assert capsys.readouterr().err.endswith(f"leave out {flag}, which it would not use\n")
    for flags in (["--epochs", "nan"], ["--epochs", "0"], ["--eval-every", "-1"], ["--lr", "-1"], ["--lr", "inf"],
                  ["--beta1", "2"], ["--ema", "1"], ["--batch"]):   # --batch: no abbreviations of flags
        with pytest.raises(SystemExit):
            example.parse_args(flags)
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


def test_sample_writes_each_image_as_a_png_and_never_over_earlier_ones(example, tmp_path):
    from PIL import Image
    assert example.main(SMALL + ["--steps", "2", "--out", str(tmp_path)]) == 0
    ck, folder = str(tmp_path / "checkpoint.npz"), tmp_path / "pngs"
    result = run_cli("-m", "minigan", "sample", "--checkpoint", ck, "--n", "12", "--png-dir", str(folder),
                     "--npy", str(tmp_path / "same.npy"))
    assert result.returncode == 0, result.stderr
    names = sorted(os.listdir(folder))
    assert names == [f"sample_{i:05d}.png" for i in range(12)] and not (tmp_path / "samples.png").exists()
    pixels = numpy.load(tmp_path / "same.npy")
    for name, expected in zip(names, pixels):
        with Image.open(folder / name) as image:
            assert image.mode == "L" and image.size == (28, 28)
            numpy.testing.assert_array_equal(numpy.asarray(image), expected)
    again = run_cli("-m", "minigan", "sample", "--checkpoint", ck, "--n", "3", "--png-dir", str(folder))
    assert again.returncode != 0 and "already holds sample PNGs" in again.stderr
    assert len(os.listdir(folder)) == 12


def test_a_conditional_fashion_run_names_its_articles_and_samples_one_by_name(example, tmp_path, capsys):
    from tests.test_data import write_idx
    idx = tmp_path / "idx"
    idx.mkdir()
    write_idx(idx / "train-images-idx3-ubyte", numpy.random.default_rng(0).integers(0, 256, (40, 28, 28), numpy.uint8))
    write_idx(idx / "train-labels-idx1-ubyte", numpy.arange(40, dtype=numpy.uint8) % 10)
    assert example.main(SMALL + ["--dataset", "fashion", "--data", str(idx), "--conditional", "--steps", "1",
                                 "--out", str(tmp_path / "run")]) == 0
    assert ("classes (the grid's columns, and sample's --label): 0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, "
            "4 Coat, 5 Sandal, 6 Shirt, 7 Sneaker, 8 Bag, 9 Ankle boot") in capsys.readouterr().out.splitlines()
    ck = str(tmp_path / "run" / "checkpoint.npz")
    for label in ("Ankle boot", "9"):
        result = run_cli("-m", "minigan", "sample", "--checkpoint", ck, "--label", label, "--n", "2",
                         "--npy", str(tmp_path / f"{label}.npy"))
        assert result.returncode == 0, result.stderr
    numpy.testing.assert_array_equal(numpy.load(tmp_path / "Ankle boot.npy"), numpy.load(tmp_path / "9.npy"))


def test_sampling_with_a_label_from_an_unconditional_model_is_refused(example, tmp_path):
    assert example.main(SMALL + ["--steps", "1", "--out", str(tmp_path)]) == 0
    result = run_cli("-m", "minigan", "sample", "--checkpoint", str(tmp_path / "checkpoint.npz"), "--label", "3")
    assert result.returncode != 0 and "not conditional" in result.stderr


def test_a_runs_folder_given_for_its_checkpoint_names_the_checkpoint(example, tmp_path):
    """--checkpoint out or --resume out (the folder) said 'not a regular file (a directory, a pipe or a
    device), so not a checkpoint'; a resume took the folder's parent as the run's folder."""
    run = tmp_path / "run"
    assert example.main(SMALL + ["--steps", "1", "--out", str(run)]) == 0
    said = f"error: {run}: a run's folder; its checkpoint is {run / 'checkpoint.npz'}"
    with pytest.raises(SystemExit, match=f"^{re.escape(said)}$"):
        example.main(["--resume", str(run), "--steps", "2"])
    for command in ("sample", "eval"):
        result = run_cli("-m", "minigan", command, "--checkpoint", str(run))
        assert result.returncode == 1 and result.stderr.splitlines()[-1] == said, result.stderr
    with pytest.raises(checkpoint.CheckpointError, match="a folder, not a checkpoint file$"):
        checkpoint.load(tmp_path)   # a folder that holds no run


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


def test_the_commands_a_run_prints_can_be_pasted_when_its_folder_has_spaces(example, tmp_path, capsys):
    out = tmp_path / "my run (2)"
    checkpoint = str(out / "checkpoint.npz")
    assert example.main(SMALL + ["--steps", "2", "--out", str(out)]) == 0
    said = capsys.readouterr().out
    command = said[said.index("`python -m minigan sample"):].split("`")[1]
    assert shlex.split(command)[-2:] == ["--checkpoint", checkpoint]
    assert example.main(["--resume", checkpoint, "--steps", "2"]) == 0
    said = capsys.readouterr().out
    assert shlex.split(said[said.index("--resume"):].split(" with ")[0]) == ["--resume", checkpoint]
    with pytest.raises(SystemExit) as refused:
        example.main(SMALL + ["--steps", "2", "--out", str(out)])
    assert shlex.split(str(refused.value).split("continue it with ")[1].split(",")[0]) == ["--resume", checkpoint]


def test_a_new_run_never_overwrites_another_runs_files(example, tmp_path):
    assert example.main(SMALL + ["--steps", "4", "--out", str(tmp_path)]) == 0
    before = {name: (tmp_path / name).read_bytes() for name in ("checkpoint.npz", "log.csv")}
    with pytest.raises(SystemExit, match="holds another run .*--resume .*checkpoint.npz.*--force"):
        example.main(SMALL + ["--steps", "2", "--out", str(tmp_path)])
    other = tmp_path / "other"
    assert example.main(SMALL + ["--steps", "2", "--out", str(other)]) == 0
    with pytest.raises(SystemExit, match="holds another run"):   # resuming a different run into it
        example.main(SMALL + ["--steps", "6", "--out", str(tmp_path), "--resume", str(other / "checkpoint.npz")])
    assert before == {name: (tmp_path / name).read_bytes() for name in before}
    assert example.main(SMALL + ["--steps", "2", "--out", str(tmp_path), "--force"]) == 0
    assert checkpoint.load(tmp_path / "checkpoint.npz")["step"] == 2


def test_a_resume_without_out_goes_on_in_the_checkpoints_folder(example, tmp_path, monkeypatch):
    run = tmp_path / "runs" / "first"
    assert example.main(SMALL + ["--steps", "2", "--out", str(run), "--no-final-score"]) == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert example.main(["--steps", "4", "--resume", str(run / "checkpoint.npz"), "--no-final-score"]) == 0
    assert checkpoint.load(run / "checkpoint.npz")["step"] == 4
    assert [row.split(",")[0] for row in (run / "log.csv").read_text().splitlines()[1:]] == ["1", "2", "3", "4"]
    assert list(elsewhere.iterdir()) == []   # no out/ made where the command ran


def test_a_resumed_run_killed_before_its_first_checkpoint_keeps_every_earlier_row(tmp_path):
    first = run_cli(EXAMPLE, *SMALL, "--steps", "4", "--out", str(tmp_path))
    assert first.returncode == 0, first.stderr
    resumed = subprocess.Popen([sys.executable, EXAMPLE, *SMALL, "--steps", "100000", "--sample-every", "100000",
                                "--out", str(tmp_path), "--resume", str(tmp_path / "checkpoint.npz")],
                               cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:   # the log is flushed every step: wait for two steps past the checkpoint
        with open(tmp_path / "log.csv") as f:
            if sum(1 for _ in f) >= 1 + 6:
                break
        time.sleep(0.05)
    resumed.kill()
    resumed.wait()
    with open(tmp_path / "log.csv") as f:
        steps = [int(r["step"]) for r in csv.DictReader(f)]
    assert steps[:4] == [1, 2, 3, 4] and steps == list(range(1, len(steps) + 1)) and len(steps) >= 6


def test_a_checkpoint_is_never_written_of_a_run_holding_inf(example, tmp_path, monkeypatch, capsys):
    real_step = gan.train_step
    calls = {"n": 0}

    def poisoning_step(G, *args, **kwargs):
        calls["n"] += 1
        figures = real_step(G, *args, **kwargs)
        if calls["n"] == 6:   # a running variance that overflowed, while the losses still look finite
            next(m for m in G.modules() if hasattr(m, "running_var")).running_var.data[0] = numpy.inf
        return figures

    monkeypatch.setattr(gan, "train_step", poisoning_step)
    assert example.main(SMALL + ["--steps", "10", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "step 8: G's 'main.1.running_var' holds inf or nan" in err
    state = checkpoint.load(tmp_path / "checkpoint.npz")
    assert state["step"] == 4 and numpy.isfinite(state["G"]["main.1.running_var"]).all()


def test_a_checkpoint_holding_nan_is_refused_by_sample_and_resume(example, tmp_path):
    assert example.main(SMALL + ["--steps", "2", "--out", str(tmp_path)]) == 0
    state = checkpoint.load(tmp_path / "checkpoint.npz")
    state["G"]["main.1.running_var"][0] = -1.0
    checkpoint.save(state, tmp_path / "negative.npz")
    result = run_cli("-m", "minigan", "sample", "--checkpoint", str(tmp_path / "negative.npz"))
    assert result.returncode == 1 and "G's 'main.1.running_var' holds a negative variance" in result.stderr
    state["G"]["main.1.running_var"][0] = 1.0
    state["G"]["main.0.weight"][0, 0, 0, 0] = numpy.nan
    bad = str(tmp_path / "bad.npz")
    checkpoint.save(state, bad)
    result = run_cli("-m", "minigan", "sample", "--checkpoint", bad, "--out", str(tmp_path / "g.png"))
    assert result.returncode == 1 and "G's 'main.0.weight' holds inf or nan" in result.stderr
    assert not (tmp_path / "g.png").exists()
    with pytest.raises(SystemExit, match="G's 'main.0.weight' holds inf or nan"):
        example.main(["--steps", "4", "--out", str(tmp_path / "resumed"), "--resume", bad])


def test_scores_are_refused_for_images_that_are_not_digits(example, tmp_path):
    with pytest.raises(SystemExit):
        example.parse_args(["--dataset", "fashion", "--eval-every", "100"])
    assert example.main(SMALL + ["--steps", "1", "--out", str(tmp_path)]) == 0
    state = checkpoint.load(tmp_path / "checkpoint.npz")
    state["config"]["training"]["dataset"] = "fashion"
    checkpoint.save(state, tmp_path / "fashion.npz")
    result = run_cli("-m", "minigan", "eval", "--checkpoint", str(tmp_path / "fashion.npz"))
    assert result.returncode == 1 and "trained on 'fashion' images" in result.stderr


def test_unwritable_places_and_odd_requests_end_in_one_clear_line(example, tmp_path, capsys):
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(SystemExit, match="^error: --out .*a_file is a file, not a folder$"):
        example.main(SMALL + ["--steps", "1", "--out", str(tmp_path / "a_file")])
    with pytest.raises(SystemExit, match=r"^error: --out .*a_file/run: cannot make this folder \(Not a directory\)$"):
        example.main(SMALL + ["--steps", "1", "--out", str(tmp_path / "a_file" / "run")])
    with pytest.raises(SystemExit) as stop:   # NumPy's generators take no negative seed: a traceback before
        example.main(SMALL + ["--steps", "1", "--seed", "-1", "--out", str(tmp_path / "negative")])
    assert stop.value.code == 2 and "--seed must be 0 or more, got -1" in capsys.readouterr().err
    assert example.main(SMALL + ["--steps", "2", "--out", str(tmp_path / "run")]) == 0
    ck = str(tmp_path / "run" / "checkpoint.npz")
    # a finished run resumed into a fresh folder, or to fewer steps than it has: nothing to train, said so, and
    # nothing written (an empty log.csv left in the fresh folder would refuse the next run there)
    capsys.readouterr()
    before = sorted(os.listdir(tmp_path / "run"))
    assert example.main(["--steps", "2", "--out", str(tmp_path / "again"), "--resume", ck, "--no-final-score"]) == 0
    assert example.main(["--steps", "1", "--resume", ck]) == 0
    said = capsys.readouterr().out.splitlines()
    go_on = f"; to go on, --resume {ck} with --steps above 2"
    assert said == [f"nothing to train: the run is at step 2, and this one ends at step 2{go_on}",
                    f"nothing to train: the run is at step 2, and this one ends at step 1{go_on}"]
    assert not (tmp_path / "again").exists() and sorted(os.listdir(tmp_path / "run")) == before
    with pytest.raises(SystemExit, match="no mnist IDX files"):   # a refused run leaves no empty folder
        example.main(SMALL + ["--steps", "1", "--data", str(tmp_path / "none"), "--out", str(tmp_path / "refused")])
    assert not (tmp_path / "refused").exists()
    (tmp_path / "s.npy").mkdir()
    (tmp_path / "d.png").mkdir()
    for flags, message in ((["--n", "0"], "--n must be at least 1"),
                           (["--seed", "-1"], "--seed must be 0 or more, got -1"),
                           (["--out", str(tmp_path / "g.txt")], "a picture's name must end in one of"),
                           (["--n", "500", "--out", str(tmp_path / "g.png")], "a picture holds at most 400"),
                           (["--npy", str(tmp_path / "s")], "must end in .npy"),
                           (["--npy", str(tmp_path / "none" / "s.npy")], f"there is no folder {tmp_path / 'none'}"),
                           (["--npy", str(tmp_path / "s.npy")], "is a folder; name a file"),
                           (["--out", str(tmp_path / "d.png")], "is a folder; name a file")):
        result = run_cli("-m", "minigan", "sample", "--checkpoint", ck, *flags)
        assert result.returncode == 2 and "Traceback" not in result.stderr, flags
        # with the command's own usage and name (it was python -m minigan's, which does not show sample's flags)
        assert result.stderr.startswith("usage: python -m minigan sample [-h] --checkpoint CHECKPOINT")
        assert result.stderr.splitlines()[-1].startswith("python -m minigan sample: error: ")
        assert message in result.stderr
    result = run_cli("-m", "minigan", "sample", "--checkpoint", ck, "--png-dir", str(tmp_path / "a_file"))
    assert result.returncode == 1 and result.stderr == f"error: --png-dir {tmp_path / 'a_file'} is a file, not a folder\n"
    result = run_cli("-m", "minigan", "eval", "--checkpoint", ck, "--n", "0")
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == "python -m minigan eval: error: --n must be at least 1, got 0"
    numpy.save(tmp_path / "bad.npy", numpy.full((3, 28, 28), numpy.nan))
    result = run_cli("-m", "minigan", "eval", "--npy", str(tmp_path / "bad.npy"))
    assert result.returncode == 1 and "hold inf or nan" in result.stderr and "Traceback" not in result.stderr
    # a header that claims 3 billion images over a file of ten: refused, not allocated (2.3 TiB, before)
    with open(tmp_path / "lies.npy", "wb") as f:
        numpy.lib.format.write_array_header_1_0(f, {"descr": "|u1", "fortran_order": False,
                                                   "shape": (3_000_000_000, 28, 28)})
        f.write(bytes(10 * 28 * 28))
    numpy.save(tmp_path / "objects.npy", numpy.array([1, "a"], dtype=object), allow_pickle=True)
    for name, why in (("lies.npy", "shorter than its header says"),
                      ("objects.npy", "it holds Python objects, which only unpickling reads")):
        result = run_cli("-m", "minigan", "eval", "--npy", str(tmp_path / name))
        assert result.returncode == 1 and result.stderr == f"error: {tmp_path / name}: not a readable .npy array ({why})\n"
    # --json: a .json file in a folder that exists, checked before the scoring; it once wrote over a run's log.csv
    log = (tmp_path / "run" / "log.csv").read_text()
    (tmp_path / "a.json").mkdir()
    for target, message in ((tmp_path / "run" / "log.csv", "the file name must end in .json"),
                            (tmp_path / "none" / "s.json", f"there is no folder {tmp_path / 'none'}"),
                            (tmp_path / "a.json", "is a folder; name a file")):
        result = run_cli("-m", "minigan", "eval", "--checkpoint", ck, "--json", str(target))
        assert result.returncode == 2 and f"error: --json {target}: {message}" in result.stderr
    assert (tmp_path / "run" / "log.csv").read_text() == log
    numpy.save(tmp_path / "ones.npy", -numpy.ones((20, 28, 28)))   # blank: the background alone
    result = run_cli("-m", "minigan", "eval", "--npy", str(tmp_path / "ones.npy"), "--json", str(tmp_path / "s.json"))
    assert result.returncode == 0 and json.loads((tmp_path / "s.json").read_text())["scores"]["samples"] == 20
    assert not [name for name in os.listdir(tmp_path) if ".tmp-" in name]


class Killed(BaseException):
    """What a SIGKILL does to a run, in a test: nothing after it runs, no handler sees it."""


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_kill_stops_the_run_between_two_steps_with_its_checkpoint(example, tmp_path, monkeypatch, capsys,
                                                                            signum):
    """Ctrl-C (or a plain kill) during step 6 of 8: the run ends that step, saves it, says how to go on, and
    the resumed run ends as the one never stopped, bit for bit. It was a traceback from wherever the step was,
    with the last checkpoint at step 4."""
    straight, stopped = tmp_path / "straight", tmp_path / "stopped"
    assert example.main(SMALL + ["--steps", "8", "--out", str(straight)]) == 0
    step = gan.train_step
    calls = []

    def signalled_in_step_six(*args, **kwargs):
        calls.append(1)
        if len(calls) == 6:
            os.kill(os.getpid(), signum)   # arrives in the middle of the step
        return step(*args, **kwargs)
    monkeypatch.setattr(gan, "train_step", signalled_in_step_six)

    def unhandled(*_):   # what the signal did before (for SIGTERM, the end of the test run itself)
        raise AssertionError(f"{signal.Signals(signum).name} reached the program's own handler")
    previous = signal.signal(signum, unhandled)
    capsys.readouterr()
    try:
        assert example.main(SMALL + ["--steps", "8", "--out", str(stopped)]) == 128 + signum
        assert signal.getsignal(signum) is unhandled   # the run gives the handler back
    finally:
        signal.signal(signum, previous)
    said = capsys.readouterr().err.splitlines()
    name = signal.Signals(signum).name
    assert f"{name}: stopping after this step (once more to stop at once)" in said
    assert said[-1] == (f"stopped at step 6 of 8 ({name}); {stopped / 'checkpoint.npz'} holds it: go on with "
                        f"python examples/mnist_gan.py --resume {stopped / 'checkpoint.npz'}")
    assert checkpoint.load(stopped / "checkpoint.npz")["step"] == 6
    monkeypatch.setattr(gan, "train_step", step)
    assert example.main(["--resume", str(stopped / "checkpoint.npz")]) == 0
    assert_the_same_run(straight, stopped, steps=8)


def test_a_second_ctrl_c_stops_at_once_in_one_line(example, tmp_path, monkeypatch, capsys):
    step = gan.train_step

    def signalled_twice(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGINT)
        return step(*args, **kwargs)
    monkeypatch.setattr(gan, "train_step", signalled_twice)
    try:
        example.main(SMALL + ["--steps", "8", "--out", str(tmp_path)])
    except KeyboardInterrupt:   # caught here, or it would end the test run itself
        pytest.fail("a second Ctrl-C ended in a traceback")
    except SystemExit as stop:
        assert stop.code == 130   # the shell's code for Ctrl-C, as every other command ends on it
        assert capsys.readouterr().err.splitlines()[-1] == \
            f"interrupted; {tmp_path} holds the run's last checkpoint, if it had written one"
    else:
        pytest.fail("a second Ctrl-C did not stop the run")
    assert not (tmp_path / "checkpoint.npz").exists()   # stopped in step 1, before any checkpoint


def test_a_run_killed_half_way_and_resumed_without_flags_finishes_as_it_was_started(example, tmp_path, monkeypatch):
    """A run of --steps 8 --sample-every 4 killed at step 6 and resumed with nothing but --resume ends at step 8,
    sampling every 4 steps, with the same checkpoint and log as the run that was never killed (it went on to the
    default length, sampling every 500, before)."""
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    assert example.main(SMALL + ["--steps", "8", "--out", str(straight)]) == 0
    step = gan.train_step
    calls = []

    def killed_after_six(*args, **kwargs):
        if len(calls) == 6:
            raise Killed   # as a kill: nothing after it runs
        calls.append(1)
        return step(*args, **kwargs)
    monkeypatch.setattr(gan, "train_step", killed_after_six)
    with pytest.raises(Killed):
        example.main(SMALL + ["--steps", "8", "--out", str(killed)])
    monkeypatch.setattr(gan, "train_step", step)
    assert checkpoint.load(killed / "checkpoint.npz")["step"] == 4
    assert example.main(["--resume", str(killed / "checkpoint.npz")]) == 0
    assert_the_same_run(straight, killed, steps=8)
    assert sorted(p.name for p in killed.glob("samples_*.png")) == ["samples_4.png", "samples_8.png"]


def test_a_second_run_into_a_folder_that_a_run_is_writing_is_refused(example, tmp_path):
    """Two resumes of one run at once wrote over each other's log, and one died saving its checkpoint with a
    'No such file' about the other's temporary file; a --force run would have replaced a run still training."""
    assert example.main(SMALL + ["--steps", "2", "--out", str(tmp_path)]) == 0
    before = (tmp_path / "log.csv").read_bytes(), (tmp_path / "checkpoint.npz").read_bytes()
    with gan.claim_folder(str(tmp_path)):   # as the first run holds it while it trains
        for flags in (["--resume", str(tmp_path / "checkpoint.npz"), "--steps", "4"],
                      SMALL + ["--steps", "2", "--force", "--out", str(tmp_path)]):
            with pytest.raises(SystemExit, match=f"^error: {tmp_path}: another run is writing into it right now"):
                example.main(flags)
    assert ((tmp_path / "log.csv").read_bytes(), (tmp_path / "checkpoint.npz").read_bytes()) == before
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from minigan import gan\n"
                               "with gan.claim_folder(sys.argv[1]): print('held', flush=True); time.sleep(60)",
                               str(tmp_path)], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert holder.stdout.readline() == "held\n"
    with pytest.raises(gan.FolderInUse):   # held by another process
        with gan.claim_folder(str(tmp_path)):
            pass
    holder.kill()   # a run killed outright leaves nothing that refuses the next
    holder.wait()
    assert example.main(["--resume", str(tmp_path / "checkpoint.npz"), "--steps", "4"]) == 0


def test_a_file_system_without_locks_still_trains(example, tmp_path, monkeypatch):
    import errno
    import fcntl

    def no_locks(handle, operation):
        raise OSError(errno.ENOLCK, "No locks available")
    monkeypatch.setattr(fcntl, "flock", no_locks)
    assert example.main(SMALL + ["--steps", "1", "--out", str(tmp_path)]) == 0


@pytest.mark.parametrize("name, value, message", [
    ("sample_every", "often", "sample_every is 'often', which --sample-every cannot be"),
    ("steps", 2.5, "steps is 2.5, which --steps cannot be"),
    ("final_score", "yes", "final_score is 'yes', which --final-score cannot be"),
    ("device", "tpu", "device is 'tpu', which --device cannot be"),
    ("sample_every", 0, "--sample-every must be at least 1"),
])
def test_a_resume_refuses_a_checkpoints_length_or_output_setting_that_no_flag_could_give(example, tmp_path, name,
                                                                                        value, message):
    """The length, device and output settings a resume now takes from the checkpoint are held to their flags'
    kinds and ranges, like the run's own settings: one line naming the setting, never a traceback."""
    assert example.main(SMALL + ["--steps", "2", "--out", str(tmp_path)]) == 0
    state = checkpoint.load(tmp_path / "checkpoint.npz")
    state["config"]["training"][name] = value
    checkpoint.save(state, tmp_path / "edited.npz")
    with pytest.raises(SystemExit, match=f"^error: .*edited.npz: the run's setting {message}"):
        example.main(["--out", str(tmp_path / "resumed"), "--resume", str(tmp_path / "edited.npz")])


def test_a_run_trained_on_a_gpu_resumed_where_there_is_none_says_how_to_go_on(example, tmp_path):
    """The device check ran before a resume took the run's device, so a GPU run resumed on a machine without
    one was a traceback from moving the players; now it is one line, which says how to continue on the CPU."""
    if minigan.gpu_available():
        pytest.skip("a GPU is present here")
    assert example.main(SMALL + ["--steps", "2", "--out", str(tmp_path)]) == 0
    state = checkpoint.load(tmp_path / "checkpoint.npz")
    state["config"]["training"]["device"] = "cuda"
    checkpoint.save(state, tmp_path / "on_gpu.npz")
    resumed = ["--out", str(tmp_path / "resumed"), "--resume", str(tmp_path / "on_gpu.npz"), "--steps", "3"]
    with pytest.raises(SystemExit, match="CuPy.* The run was trained on cuda: add --device cpu to continue it here.$"):
        example.main(resumed)
    assert example.main(resumed + ["--device", "cpu"]) == 0
    assert checkpoint.load(tmp_path / "resumed" / "checkpoint.npz")["step"] == 3

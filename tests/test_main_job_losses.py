"""The main job with the losses after the minimax game: the papers' settings taken and said, exact resumption
(spectral norm's u and v, RMSProp's state, clipping, penalties), the log's columns, the combinations refused,
and the checkpoints of earlier versions still read."""
import csv
import re

import numpy
import pytest

from minigan import checkpoint, gan
from tests.test_main_job import SMALL, check_resuming_is_exact


def training_settings(path):
    return checkpoint.load(path)["config"]["training"]


@pytest.mark.parametrize("extra", [["--loss", "wgan-gp", "--k", "2"], ["--loss", "wgan", "--k", "2"],
                                   ["--loss", "hinge", "--spectral-norm"], ["--loss", "lsgan", "--r1", "1"]],
                         ids=["wgan-gp", "wgan", "hinge-spectral", "lsgan-r1"])
def test_resuming_is_exact_bit_for_bit_with_each_loss(example, tmp_path, extra):
    a = check_resuming_is_exact(example, tmp_path, extra)
    if "--spectral-norm" in extra:
        assert any(k.endswith(".u") for k in a) and any(k.endswith(".v") for k in a)


def test_wgan_gp_takes_its_papers_settings_and_says_so(example, tmp_path, capsys):
    assert example.main(SMALL + ["--loss", "wgan-gp", "--steps", "2", "--out", str(tmp_path)]) == 0
    said = capsys.readouterr().out
    assert "--loss wgan-gp: the settings of Gulrajani et al. (2017): --k 5 --optimizer adam --lr 0.0001" in said
    assert "--d-norm layer" in said
    t = training_settings(tmp_path / "checkpoint.npz")
    assert (t["k"], t["optimizer"], t["lr"], t["beta1"], t["beta2"], t["gp"], t["clip"], t["d_norm"]) == \
        (5, "adam", 1e-4, 0.0, 0.9, 10.0, 0.0, "layer")
    with open(tmp_path / "log.csv") as f:
        columns = csv.DictReader(f).fieldnames
    assert columns == ["step", "loss_D", "loss_G", "E[D(x)]", "E[D(G(z))]", "W estimate", "penalty",
                       "grad_norm_D", "grad_norm_G", "seconds"]
    assert (tmp_path / "curves.png").exists()


def test_a_flag_written_out_keeps_its_value_over_the_papers(example, tmp_path, capsys):
    assert example.main(SMALL + ["--loss", "wgan", "--k", "2", "--lr", "1e-3", "--steps", "2",
                                 "--out", str(tmp_path)]) == 0
    assert "the settings of Arjovsky et al. (2017): --optimizer rmsprop --clip 0.01" in capsys.readouterr().out
    t = training_settings(tmp_path / "checkpoint.npz")
    assert (t["k"], t["optimizer"], t["lr"], t["clip"], t["d_norm"]) == (2, "rmsprop", 1e-3, 0.01, None)
    D = gan.build_models(checkpoint.load(tmp_path / "checkpoint.npz")["config"])[1]
    assert any(type(m).__name__ == "BatchNorm2d" for m in D.modules())   # clipping keeps the reference critic


def test_clipping_holds_the_critics_weights(example, tmp_path):
    assert example.main(SMALL + ["--loss", "wgan", "--steps", "3", "--out", str(tmp_path)]) == 0
    D = checkpoint.load(tmp_path / "checkpoint.npz")["D"]
    assert max(numpy.abs(v).max() for k, v in D.items() if "running" not in k) <= 0.01


@pytest.mark.parametrize("flags,message", [
    (["--loss", "wgan-gp", "--d-norm", "batch"], "--gp 10 penalizes each image's own gradient.*--d-norm layer"),
    (["--r1", "10", "--d-norm", "batch"], "--r1 10 penalizes each image's own gradient"),
    (["--loss", "hinge", "--label-smoothing", "0.1"], "--loss hinge gives no probabilities"),
    (["--optimizer", "rmsprop", "--beta1", "0.5"], "--beta1 is a setting of Adam"),
    (["--gp", "-1"], "--gp must be a number, 0 \\(none\\) or more, got -1"),
    (["--clip", "nan"], "--clip must be a number"),
    (["--beta2", "1"], "--beta2 must be in \\[0, 1\\)"),
    (["--loss", "wgan-gp", "--gp", "0"], "--loss wgan-gp needs its critic kept 1-Lipschitz"),
])
def test_combinations_that_make_no_sense_are_refused_saying_why(example, capsys, flags, message):
    with pytest.raises(SystemExit):
        example.parse_args(flags)
    assert re.search(message, capsys.readouterr().err), flags


def test_a_checkpoint_of_an_earlier_version_still_resumes_and_samples(example, tmp_path):
    """Checkpoints written before d_norm, spectral_norm and the game's new settings existed."""
    assert example.main(SMALL + ["--steps", "2", "--out", str(tmp_path)]) == 0
    path = tmp_path / "checkpoint.npz"
    state = checkpoint.load(path)
    for name in ("d_norm", "spectral_norm"):
        del state["config"][name]
    for name in ("d_norm", "spectral_norm", "optimizer", "beta2", "gp", "r1", "clip"):
        del state["config"]["training"][name]
    checkpoint.save(state, path)
    assert example.main(["--steps", "4", "--out", str(tmp_path), "--resume", str(path), "--no-final-score"]) == 0
    assert checkpoint.load(path)["step"] == 4
    G, config, _ = gan.load_generator(str(path))
    assert config["d_norm"] == "batch" and config["spectral_norm"] is False

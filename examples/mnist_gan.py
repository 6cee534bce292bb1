"""Train a GAN on MNIST with minigan, and watch digits emerge.

    python examples/mnist_gan.py                      # the reference DCGAN, 3,000 steps of 32 embedded digits
    python examples/mnist_gan.py --batch-size 64 --steps 2000   # the reference recipe's batch and length
    python examples/mnist_gan.py --arch mlp --conditional --steps 5000
    python examples/mnist_gan.py --resume out/checkpoint.npz --steps 4000

Each iteration is Algorithm 1 of Goodfellow et al. (2014), written once in minigan/gan/training.py
(`gan.train_step`): k steps of the discriminator, each on a fresh real batch and fresh noise, then one step
of the generator. Everything this job writes goes to --out: samples_<step>.png (a fixed noise batch,
eval-mode batch norm), curves.png, log.csv, and checkpoint.npz, which resumes the run exactly. A resume
takes the run's settings from the checkpoint; a new run never overwrites another run's files.
"""
import argparse
import csv
import hashlib
import math
import os
import shlex
import sys
import time
import warnings

import minigan  # before NumPy, which loads OpenBLAS: see minigan/machine.py
import numpy
from tqdm import tqdm

from minigan import data, files, flags, gan, optim
from minigan.messages import shown

DRY_RUN = {"steps": 3, "images": 256, "batch_size": 16, "sample_every": 2}
DEFAULT_EMA = 0.0
# PyTorch's run of the reference recipe (shared/reference_dcgan.md) after 2,000 steps, scored by minigan's
# evaluator on 10,000 samples: the mean Frechet distance over seeds 0, 1, 2 on a 2-core CPU
# (benchmarks/results_quality_cpu.json, written by benchmarks/quality_vs_torch.py --device cpu).
REFERENCE_FRECHET = 145.4
# What defines a run: a resumed run takes these from its checkpoint (a flag may repeat them, not change them).
# The length (--steps, --epochs), the device and the output settings may change on a resume; left out, they too
# are the run's own (RESUMED_UNLESS_GIVEN), so a run killed half way finishes as it was started.
RUN_SETTINGS = ("arch", "conditional", "nz", "ngf", "ndf", "d_norm", "spectral_norm", "loss", "k", "fresh_noise",
                "label_smoothing", "gp", "r1", "clip", "batch_size", "optimizer", "lr", "beta1", "beta2", "ema", "seed",
                "dataset", "data", "image_size", "channels")
RESUMED_UNLESS_GIVEN = (("steps", "epochs"), ("device",), ("sample_every",), ("eval_every",), ("eval_samples",),
                        ("final_score",))   # each group taken from the checkpoint unless one of it is written out
SAVED_SETTINGS = RUN_SETTINGS + sum(RESUMED_UNLESS_GIVEN, ())   # what a resume may read from a checkpoint
DATASETS = (*data.sources.DATASETS, "folder")   # folder: your own pictures (minigan/data/folder.py)
# The Wasserstein losses come with their papers' settings (their Algorithm 1 each), taken for every one of
# these flags that is not written out.
PAPER_SETTINGS = {
    "wgan": ("Arjovsky et al. (2017)", {"k": 5, "optimizer": "rmsprop", "lr": 5e-5, "clip": 0.01}),
    "wgan-gp": ("Gulrajani et al. (2017)", {"k": 5, "optimizer": "adam", "lr": 1e-4, "beta1": 0.0, "beta2": 0.9,
                                            "gp": 10.0}),
}


def build_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                allow_abbrev=False)
    model = p.add_argument_group("model")
    model.add_argument("--arch", choices=gan.ARCHS, default="dcgan",
                       help="dcgan: the reference DCGAN of Radford et al.; mlp: the MLPs of Goodfellow et al.")
    model.add_argument("--conditional", action="store_true", help="condition both players on the digit's label")
    nz = gan.default_config()["nz"]
    model.add_argument("--nz", type=int, default=nz, help=f"size of the noise vector z (default {nz})")
    model.add_argument("--ngf", type=int, default=64, help="DCGAN generator width (default 64)")
    model.add_argument("--ndf", type=int, default=64, help="DCGAN discriminator width (default 64)")
    model.add_argument("--d-norm", choices=gan.D_NORMS, default=None,
                       help="the discriminator's normalization (default: the architecture's, batch norm for dcgan "
                            "and none for mlp; layer norm where a gradient penalty is used)")
    model.add_argument("--spectral-norm", action="store_true",
                       help="divide every weight of the discriminator by its largest singular value "
                            "(Miyato et al. 2018)")
    game = p.add_argument_group("the game")
    game.add_argument("--loss", choices=gan.LOSS_CHOICES, default="nonsaturating",
                      help="nonsaturating (G maximises log D(G(z)), default), minimax (G minimises log(1 - D(G(z))), "
                           "the paper's saturating form), wgan (a Wasserstein critic with clipped weights), wgan-gp "
                           "(the same with a gradient penalty), hinge, or lsgan (least squares); wgan and wgan-gp "
                           "take their papers' settings for --k, --optimizer, --lr and the rest unless given")
    game.add_argument("--k", type=int, default=1, help="discriminator steps per generator step (default 1)")
    game.add_argument("--fresh-noise", action="store_true",
                      help="draw a new noise batch for the generator's step, as Algorithm 1 does (default: "
                           "reuse the discriminator's last fake batch, one generator pass fewer)")
    game.add_argument("--label-smoothing", type=float, default=0.0,
                      help="one-sided label smoothing: D's target for real images is 1 - this (default 0)")
    game.add_argument("--gp", type=float, default=None, metavar="LAMBDA",
                      help="weight of the gradient penalty on mixes of real and fake images (Gulrajani et al. 2017; "
                           "default 10 with --loss wgan-gp, otherwise 0: none)")
    game.add_argument("--r1", type=float, default=0.0, metavar="GAMMA",
                      help="add GAMMA/2 E||grad D(x)||^2 on real images to D's loss (Mescheder et al. 2018; e.g. 10; "
                           "default 0: none)")
    game.add_argument("--clip", type=float, default=None, metavar="C",
                      help="clip D's weights to [-C, C] after each update (default 0.01 with --loss wgan, "
                           "otherwise 0: never)")
    train = p.add_argument_group("training")
    length = train.add_mutually_exclusive_group()
    length.add_argument("--steps", type=int, default=None,
                        help="train until this many steps (default: "
                             + ", ".join(f"{n:,} for {arch}" for arch, n in gan.DEFAULT_STEPS.items()) + ")")
    length.add_argument("--epochs", type=float, default=None, help="train for this many passes over the data")
    train.add_argument("--batch-size", type=int, default=None,
                       help="images per batch (default: "
                            + ", ".join(f"{n} for {arch}" for arch, n in gan.DEFAULT_BATCH_SIZE.items())
                            + "; the reference recipe's is 64)")
    train.add_argument("--optimizer", choices=("adam", "rmsprop"), default="adam",
                       help="the optimizer of both players (default adam)")
    train.add_argument("--lr", type=float, default=2e-4, help="learning rate for both players (default 2e-4)")
    train.add_argument("--beta1", type=float, default=0.5, help="Adam beta1 for both players (default 0.5)")
    train.add_argument("--beta2", type=float, default=0.999, help="Adam beta2 for both players (default 0.999)")
    train.add_argument("--ema", type=float, default=DEFAULT_EMA, metavar="DECAY",
                       help="also keep an averaged generator, the moving average of G's weights with this decay "
                            f"(Yazici et al. 2019; e.g. 0.999); grids, checkpoints and scores then use it (default "
                            f"{DEFAULT_EMA:g}: none)")
    train.add_argument("--seed", type=int, default=0, help="seed for initialisation, noise and shuffling (default 0)")
    flags.add_device(train, "train")
    source = p.add_argument_group("data")
    source.add_argument("--dataset", choices=DATASETS, default="mnist",
                        help="mnist (the 10,000 embedded digits unless IDX files are found), fashion, or folder "
                             "(every PNG and JPEG under --data, labelled by sub-folder)")
    source.add_argument("--data", metavar="DIR", default=None,
                        help="a folder holding the four IDX files (train-images-idx3-ubyte[.gz], ...), or with "
                             "--dataset folder your pictures")
    source.add_argument("--image-size", type=int, choices=data.sources.IMAGE_SIZES, default=32,
                        help="with --dataset folder: the pictures are centre-cropped and resized to this (default 32)")
    source.add_argument("--channels", type=int, choices=(1, 3), default=3,
                        help="with --dataset folder: 3 for colour (default), 1 for grey")
    output = p.add_argument_group("output")
    output.add_argument("--out", default="out", help="folder for pictures, log and checkpoint (default out; with "
                                                     "--resume, the checkpoint's own folder)")
    output.add_argument("--sample-every", type=int, default=500,
                        help="write a sample grid and the checkpoint every this many steps (default 500)")
    output.add_argument("--eval-every", type=int, default=0, metavar="N",
                        help="every N steps, score --eval-samples samples (Frechet distance, inception score, "
                             "modes) into eval.csv, and warn of mode collapse (default 0: never)")
    output.add_argument("--eval-samples", type=int, default=2000,
                        help="samples per evaluation during training (default 2000)")
    output.add_argument("--final-score", action=argparse.BooleanOptionalAction, default=True,
                        help="at the end of a run on digits, score 10,000 samples and print them beside PyTorch's "
                             "reference figure (default on)")
    output.add_argument("--force", action="store_true",
                        help="start a new run in an --out that holds another run, replacing its files")
    output.add_argument("--resume", metavar="CHECKPOINT", default=None,
                        help="continue the run saved in CHECKPOINT, with its settings (only the length, the device "
                             "and the output settings may change; left out, they too are the run's own)")
    output.add_argument("--dry-run", action="store_true",
                        help=f"{DRY_RUN['steps']} steps on {DRY_RUN['images']} images with batch size "
                             f"{DRY_RUN['batch_size']}: checks that everything runs (so it takes no --steps, "
                             "--epochs, --batch-size or --sample-every)")
    return p


def check_types(args, parser):
    """A message naming the first setting a checkpoint may hold whose value is not of its flag's kind (a
    checkpoint's settings have not been through argparse), or None."""
    for action in parser._actions:
        if action.dest not in SAVED_SETTINGS:
            continue
        value = getattr(args, action.dest)
        if isinstance(action, (argparse._StoreTrueAction, argparse.BooleanOptionalAction)):
            fits = type(value) is bool
        elif value is None and action.default is None:   # a flag left out: --steps, --epochs
            fits = True
        elif action.choices:
            fits = type(value) is (action.type or str) and value in action.choices
        elif action.type is int:
            fits = type(value) is int
        elif action.type is float:
            fits = minigan.backend.is_number(value)
        else:
            fits = value is None or isinstance(value, str)
        if not fits:
            return f"{action.dest} is {shown(value)}, which {action.option_strings[0]} cannot be"
    return None


def check_settings(args):
    """A message naming the first setting out of its range, or None."""
    problem = flags.out_of_range(args, counts=("k", "batch_size", "sample_every", "nz", "ngf", "ndf", "eval_samples",
                                                "steps"), positive=("epochs", "lr"))
    if problem:
        return problem
    for dest, most in gan.models.LIMITS.items():   # the widest players the library builds
        if getattr(args, dest) > most:
            return f"{flags.name(dest)} must be at most {most}, got {getattr(args, dest)}"
    if args.arch == "mlp" and args.batch_size < 2:   # its batch norm's statistics are over the batch alone
        return f"--batch-size {args.batch_size}: the mlp generator's batch norm needs at least 2 images a batch"
    if args.eval_every < 0:
        return f"--eval-every must be 0 (never) or a number of steps, got {args.eval_every}"
    for name in ("beta1", "beta2"):
        if not 0 <= getattr(args, name) < 1:
            return f"--{name} must be in [0, 1), got {getattr(args, name)}"
    for name in ("gp", "r1", "clip"):
        value = getattr(args, name)
        if value is not None and not 0 <= value < math.inf:
            return f"--{name} must be a number, 0 (none) or more, got {value}"
    if not 0 <= args.label_smoothing < 1:
        return f"--label-smoothing must be in [0, 1), got {args.label_smoothing}"
    if not 0 <= args.ema < 1:
        return f"--ema must be in [0, 1) (0: no averaged generator), got {args.ema}"
    if args.dataset == "folder" and not args.data:
        return "--dataset folder reads the pictures under --data DIR; give it"
    if args.dataset == "folder" and inside(args.out, args.data):
        return (f"--out {args.out} lies inside --data {args.data}: the run's sample grids would be read as pictures "
                "to train on; choose an --out outside it")
    if args.dataset != "folder" and {"image_size", "channels"} & args.given:
        return f"--image-size and --channels are for --dataset folder; {args.dataset} images are 28-pixel grey"
    if args.eval_every and args.dataset != "mnist":
        return (f"--eval-every scores samples with a digit classifier, whose figures mean nothing for "
                f"{args.dataset} images; leave it out")
    return None


def inside(path, folder):
    """Whether `path` is `folder` or lies somewhere below it (links followed)."""
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return os.path.commonpath([path, folder]) == folder


def check_game(args):
    """A message naming the first combination of settings that makes no sense together, or None (run after
    the paper settings are filled in, and again on a resumed run's settings)."""
    penalty = " and ".join(f"--{name} {getattr(args, name):g}" for name in ("gp", "r1") if getattr(args, name))
    if penalty and args.d_norm == "batch":
        return (f"{penalty} penalizes each image's own gradient, but --d-norm batch makes each of D's outputs "
                "depend on the whole batch; use --d-norm layer (Gulrajani et al.'s choice) or --d-norm none")
    if args.loss in ("wgan", "wgan-gp") and not (args.clip or args.gp or args.spectral_norm):
        return (f"--loss {args.loss} needs its critic kept 1-Lipschitz, and --clip 0 and --gp 0 leave it free "
                "(its scores would grow without bound); give --clip, --gp or --spectral-norm")
    if args.label_smoothing and args.loss not in gan.PROBABILITY_LOSSES:
        return (f"--label-smoothing aims D's probability for real images below 1, and --loss {args.loss} gives "
                "no probabilities; leave it out")
    if args.optimizer == "rmsprop":
        adam_only = sorted({"beta1", "beta2"} & args.given)
        if adam_only:
            return f"--{adam_only[0]} is a setting of Adam; --optimizer rmsprop has none"
    return None


def settle_the_game(args):
    """Fill in what the chosen loss implies: its paper's settings (wgan, wgan-gp) for the flags not written
    out, the penalty and clipping weights (0 where unset), and layer norm in a critic with a penalty.
    Returns a line saying what was taken from a paper, or None."""
    said = None
    if args.loss in PAPER_SETTINGS:
        paper, settings = PAPER_SETTINGS[args.loss]
        taken = {name: value for name, value in settings.items() if name not in args.given}
        for name, value in taken.items():
            setattr(args, name, value)
        if taken:
            said = (f"--loss {args.loss}: the settings of {paper}: "
                    + " ".join(f"--{name.replace('_', '-')} {value:g}" if not isinstance(value, str)
                               else f"--{name} {value}" for name, value in taken.items()))
    args.gp = args.gp or 0.0
    args.clip = args.clip or 0.0
    if (args.gp or args.r1) and args.d_norm is None and gan.DEFAULT_D_NORM[args.arch] == "batch":
        args.d_norm = "layer"
        said = (said + "; " if said else "") + "--d-norm layer (a gradient penalty needs no batch norm in the critic)"
    return said


def checkpoint_folder(path):
    """The folder a run's checkpoint lives in: through a symbolic link to it (a `latest.npz` kept beside the runs),
    the folder of the file it names, where the run's log and pictures are."""
    if os.path.islink(path):
        return os.path.dirname(os.path.realpath(path))
    return os.path.dirname(path) or "."


def parse_args(argv=None):
    p = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = p.parse_args(argv)
    words = {word.split("=", 1)[0] for word in argv if word.startswith("--")}
    args.given = {a.dest for a in p._actions if words & set(a.option_strings)}   # the flags written out
    if args.resume and "out" not in args.given:   # a resumed run goes on in its own folder unless told otherwise
        args.out = checkpoint_folder(args.resume)
    if args.batch_size is None:   # a resumed run's own batch size replaces it in train()
        args.batch_size = gan.DEFAULT_BATCH_SIZE[args.arch]
    problem = check_settings(args)
    if problem:
        p.error(problem)
    args.settled = settle_the_game(args)
    problem = check_game(args)
    if problem:
        p.error(problem)
    if args.dry_run:
        ignored = [flags.name(dest) for dest in ("steps", "epochs", "batch_size", "sample_every")
                   if dest in args.given]
        if ignored:
            p.error(f"--dry-run runs {DRY_RUN['steps']} steps of {DRY_RUN['batch_size']} images from "
                    f"{DRY_RUN['images']}, a grid every {DRY_RUN['sample_every']}, and scores nothing; leave out "
                    f"{ignored[0]}, which it would not use")
        args.steps, args.epochs = DRY_RUN["steps"], None
        args.batch_size, args.sample_every = DRY_RUN["batch_size"], DRY_RUN["sample_every"]
        args.final_score = False
    return args


def load_data(args):
    """(images, labels, the names of the classes the labels number)."""
    try:
        if args.dataset == "folder":
            images, labels, classes = data.load_folder(args.data, args.image_size, args.channels)
            if args.conditional and not 2 <= len(classes) <= gan.models.NUM_CLASSES:
                sys.exit(f"error: --conditional: {args.data} holds {len(classes)} class(es) of pictures; the "
                         f"conditional players take 2 to {gan.models.NUM_CLASSES}, one sub-folder each")
        else:
            images, labels = data.load(args.dataset, args.data)
            classes = data.CLASS_NAMES[args.dataset]
    except (data.DataNotFound, data.IDXError, ValueError) as error:
        sys.exit(f"error: {error}")
    if args.dry_run:
        images, labels = images[:DRY_RUN["images"]], labels[:DRY_RUN["images"]]
    return images, labels, classes


def fingerprint(images, labels):
    """What a run trains on, in a few bytes: how many images, and a digest of them and their labels. The
    checkpoint keeps it, and a resume compares it with the data it finds."""
    digest = hashlib.blake2b(numpy.ascontiguousarray(images), digest_size=16)
    digest.update(numpy.ascontiguousarray(labels))
    return {"images": len(images), "digest": digest.hexdigest()}


def go_on_with_other_data(saved, data, run, path):
    """A resume is exact only on the data the run was trained on (`saved`, its fingerprint). If a folder of
    pictures or of IDX files changed since, say so, and go on: with fewer images than the batch iterator had
    reached, from a new epoch. (Checkpoints of earlier versions keep no fingerprint, and are not checked.)"""
    if not isinstance(saved, dict) or "digest" not in saved or saved == data:
        return
    warnings.warn(f"{path}: the run was trained on {saved.get('images')} images that differ from these "
                  f"{data['images']}; it goes on, but not with the batches it would have drawn had it never stopped",
                  stacklevel=2)
    position = run["batches"].get("position") if isinstance(run["batches"], dict) else None
    if type(position) is int and position > data["images"]:
        run["batches"]["position"] = data["images"]   # past the end: the next batch begins a new epoch


def total_steps(args, batches):
    if args.epochs is not None:
        return max(1, math.ceil(args.epochs * batches.batches_per_epoch() / args.k))
    return args.steps or gan.DEFAULT_STEPS[args.arch]


class Progress:
    """A tqdm bar on a terminal; elsewhere (a pipe, a log file, a batch job) a plain line every 5% of the run,
    since tqdm switches itself off there and the run would otherwise print nothing until it ends."""

    def __init__(self, steps, step):
        self.steps, self.start_step, self.start = steps, step, time.perf_counter()
        self.bar = tqdm(total=steps, initial=step, unit="step", dynamic_ncols=True, disable=None)
        self.every = max(1, steps // 20)

    def update(self, step, figures):
        brief = {name.replace(" after D step", ""): value for name, value in figures.items()
                 if not name.startswith("grad_norm") and name != "D(G(z)) before D step"}
        if not self.bar.disable:
            self.bar.set_postfix({k: f"{v:.3f}" for k, v in brief.items()})
            self.bar.update()
        elif step % self.every == 0 or step == self.steps:
            elapsed = time.perf_counter() - self.start
            left = elapsed / (step - self.start_step) * (self.steps - step)
            print(f"step {step}/{self.steps}  " + "  ".join(f"{k} {v:.3f}" for k, v in brief.items())
                  + f"  {elapsed:.0f} s, about {left:.0f} s left", flush=True)

    def write(self, message):
        tqdm.write(message, file=sys.stderr)

    def close(self):
        self.bar.close()


def open_log(path, fields, resumed_step, resumed_folder=None):
    """A CSV log opened for appending a row per step. A resumed run keeps its rows up to the step it resumes
    from (a later crash may have left more), taken from the log of the same name beside its checkpoint, in
    `resumed_folder`: the run's own, whether it goes on in that folder or in another. They are written to a new
    file that is renamed over the old one, so a kill at any moment leaves every earlier row in place."""
    rows = []
    history = os.path.join(resumed_folder, os.path.basename(path)) if resumed_folder else None
    if resumed_step and history and os.path.exists(history):
        with open(history, newline="") as f:
            rows = [r for r in csv.DictReader(f) if r["step"].isdigit() and int(r["step"]) <= resumed_step]
    with files.atomic_write(path, "w", durable=True, newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    f = open(path, "a", newline="")
    return f, csv.DictWriter(f, fieldnames=fields)


def stopped_by(error, step, saved, checkpoint_path):
    """The line a run ends with when it cannot go on: what happened, and what its checkpoint holds."""
    if isinstance(error, gan.TrainingDiverged):
        said, then = f"error: {error}", f". The last good checkpoint is {checkpoint_path}"
    else:   # OSError
        said = f"error: could not write at step {step}: {error.strerror or error}"
        then = (f"; {checkpoint_path} holds step {saved}: make room, then go on with "
                f"--resume {shlex.quote(checkpoint_path)}")
    return said if saved is None else said + then


def settings_of_the_resumed_run(args, saved):
    """Take the run-defining settings from the checkpoint's `saved` training options; a flag written out
    that contradicts one is an error naming both values. The length, the device and the output settings are
    the run's own too, unless written out (a dry run keeps its own)."""
    for name in RUN_SETTINGS:
        if name not in saved:
            continue
        plain = isinstance(saved[name], (bool, int, float, str, type(None)))
        if name in args.given and not (plain and getattr(args, name) == saved[name]):
            sys.exit(f"error: --{name.replace('_', '-')} {getattr(args, name)} contradicts the resumed run's "
                     f"{shown(saved[name])}; a resumed run keeps its settings (leave the flag out)")
        setattr(args, name, saved[name])
    for group in () if args.dry_run else RESUMED_UNLESS_GIVEN:
        if not args.given & set(group):
            for name in group:
                if name in saved:
                    setattr(args, name, saved[name])


def refuse_to_overwrite(args, checkpoint_path):
    """Stop, naming the way out, if --out holds another run that this one would overwrite."""
    held = [name for name in (gan.CHECKPOINT_NAME, "log.csv") if os.path.exists(os.path.join(args.out, name))]
    continuing = args.resume and os.path.exists(checkpoint_path) and os.path.samefile(args.resume, checkpoint_path)
    if held and not continuing and not args.force:
        sys.exit(f"error: {args.out} holds another run ({' and '.join(held)}); continue it with --resume "
                 f"{shlex.quote(checkpoint_path)}, replace it with --force, or choose another --out")


EVAL_FIELDS = ["step", "samples", "frechet_distance", "inception_score", "modes", "class_kl", "near_duplicates"]


def evaluate(evaluator, G, config, args, step, samples):
    """Score `samples` images from G (eval-mode batch norm, noise from its own seeded generator, so the
    training run's random stream is untouched)."""
    z = numpy.random.default_rng([args.seed, 2, step]).standard_normal((samples, args.nz))
    labels = gan.class_labels(samples, config)
    return evaluator.score(gan.generate(G, z, labels, args.device))


def make_optimizer(model, args):
    if args.optimizer == "rmsprop":
        return optim.RMSprop(model.parameters(), lr=args.lr)
    return optim.Adam(model.parameters(), lr=args.lr, betas=(args.beta1, args.beta2))


def judged_generator(G, averaged, config, args, step):
    """The generator that grids, scores and sampling use: the averaged one when the run keeps it, with batch
    norm statistics recomputed through it (see minigan/gan/averaging.py), else G itself."""
    if averaged is None:
        return G
    return averaged.with_statistics(args.nz, [args.seed, 3, step],
                                    classes=config["classes"] if config["conditional"] else 0)


def main(argv=None):
    args = parse_args(argv)
    new = flags.make_folder(args.out)
    try:
        with gan.claim_folder(args.out):   # a second run into this folder, while this one trains, is refused
            return train(args)
    except (gan.FolderInUse, OSError) as error:   # another run in the folder; a read-only or full disk
        sys.exit(f"error: {error}")
    except KeyboardInterrupt:   # a second Ctrl-C in the training loop, or one before or after it
        print(f"interrupted; {args.out} holds the run's last checkpoint, if it had written one", file=sys.stderr)
        sys.exit(130)   # as flags.run ends every other command on Ctrl-C: the shell's code for it
    finally:
        if new and os.path.isdir(args.out) and not os.listdir(args.out):   # refused before writing anything
            os.rmdir(args.out)


def train(args):
    run = None
    if args.resume:
        try:
            run = gan.read_run(args.resume)
        except minigan.CheckpointError as error:
            sys.exit(f"error: {error}")
        saved_training = run["config"].get("training")
        saved_training = saved_training if isinstance(saved_training, dict) else {}
        settings_of_the_resumed_run(args, saved_training)
        problem = check_types(args, build_parser()) or check_settings(args) or check_game(args)
        if problem:
            sys.exit(f"error: {args.resume}: the run's setting {problem}")
    try:   # after a resume has taken the run's own device
        minigan.backend.check_device(args.device)
    except RuntimeError as error:
        taken = args.resume and "device" not in args.given
        sys.exit(f"error: {error}" + (f" The run was trained on {args.device}: add --device cpu to continue it here."
                                      if taken else ""))
    minigan.manual_seed(args.seed)
    checkpoint_path = os.path.join(args.out, gan.CHECKPOINT_NAME)
    refuse_to_overwrite(args, checkpoint_path)

    images, labels, classes = load_data(args)
    if args.batch_size > len(images):
        sys.exit(f"error: --batch-size {args.batch_size} is more than the {len(images):,} images there are")
    config = gan.default_config(arch=args.arch, nz=args.nz, ngf=args.ngf, ndf=args.ndf, image_size=images.shape[-1],
                                channels=1 if images.ndim == 3 else images.shape[1], conditional=args.conditional,
                                classes=len(classes) if args.conditional else gan.models.NUM_CLASSES,
                                d_norm=args.d_norm, spectral_norm=args.spectral_norm)
    if args.conditional:
        config["class_names"] = list(classes)   # what each label draws, for `sample --label`
    config["training"] = {k: v for k, v in vars(args).items()
                          if k not in ("resume", "out", "force", "given", "settled")}
    config["training"]["fingerprint"] = fingerprint(images, labels)
    if args.resume:
        go_on_with_other_data(saved_training.get("fingerprint"), config["training"]["fingerprint"], run, args.resume)
    G, D = gan.build_models(config)
    G.to(args.device)
    D.to(args.device)
    opt_G, opt_D = make_optimizer(G, args), make_optimizer(D, args)   # one optimizer per player
    batches = data.Batches(images, labels, args.batch_size, seed=args.seed, device=args.device)
    # The same z for every grid; a conditional grid has one column per class (digit), ten rows.
    grid_size, grid_columns = (10 * len(classes), len(classes)) if args.conditional else (64, 8)
    fixed_z = numpy.random.default_rng([args.seed, 1]).standard_normal((grid_size, args.nz))
    fixed_labels = gan.class_labels(grid_size, config)
    noise = lambda n: gan.sample_noise(n, args.nz, args.device)  # noqa: E731
    averaged = None
    if args.ema:
        averaged = gan.AveragedGenerator(G, lambda: gan.build_models(config)[0].to(args.device), args.ema)

    step = 0
    if args.resume:
        try:
            step = gan.resume_run(args.resume, G, D, opt_G, opt_D, batches, config, averaged, state=run)
        except minigan.CheckpointError as error:
            sys.exit(f"error: {error}")
    steps = total_steps(args, batches)
    if step >= steps:   # a finished run resumed: nothing is trained, and nothing written
        print(f"nothing to train: the run is at step {step}, and this one ends at step {steps}; to go on, "
              f"--resume {shlex.quote(args.resume)} with --steps above {step}")
        return 0
    loss = gan.played(args.loss)   # wgan-gp plays wgan, with its penalty args.gp
    log_fields = ["step", *gan.figure_names(loss, bool(args.gp or args.r1)), "seconds"]
    resumed_folder = checkpoint_folder(args.resume) if args.resume else None
    log_file, log = open_log(os.path.join(args.out, "log.csv"), log_fields, step, resumed_folder)
    if args.settled and not args.resume:
        print(args.settled)
    print(f"minigan: {args.arch}{' (conditional)' if args.conditional else ''} GAN, G {gan.count_parameters(G):,} and "
          f"D {gan.count_parameters(D):,} parameters, {len(images):,} {args.dataset} images, device {args.device}")
    if args.conditional and args.dataset != "mnist":   # which label is which sub-folder, or which article
        print(f"classes (the grid's columns, and sample's --label): {gan.list_classes(classes)}")

    evaluator, eval_log = None, None
    if args.eval_every:
        from minigan.metrics import Evaluator
        evaluator = Evaluator()
        eval_file, eval_log = open_log(os.path.join(args.out, "eval.csv"), EVAL_FIELDS, step, resumed_folder)

    start = time.perf_counter()
    progress = Progress(steps, step)
    saved = step if args.resume and os.path.exists(checkpoint_path) else None   # the step the checkpoint holds
    with gan.StopRequests(progress.write) as stop:   # Ctrl-C or kill: the run stops between two steps, saved
        try:
            while step < steps and not stop.requested:
                figures = gan.train_step(G, D, opt_G, opt_D, batches, noise, args.k, loss, args.label_smoothing,
                                         args.conditional, args.fresh_noise, gp=args.gp, r1=args.r1,
                                         clip=args.clip)   # Algorithm 1: see gan/training.py
                if averaged:
                    averaged.update()
                step += 1
                figures = gan.to_numbers(figures, step)   # stops the run on a non-finite loss
                log.writerow({"step": step, **figures, "seconds": round(time.perf_counter() - start, 3)})
                log_file.flush()
                progress.update(step, figures)
                if evaluator and step % args.eval_every == 0:
                    judged = judged_generator(G, averaged, config, args, step)
                    scores = evaluate(evaluator, judged, config, args, step, args.eval_samples)
                    eval_log.writerow({k: getattr(scores, k) if k != "step" else step for k in EVAL_FIELDS})
                    eval_file.flush()
                    if scores.collapsed():
                        progress.write(f"warning: step {step}: mode collapse? only {scores.modes} of 10 digits hold 2% "
                                       f"of the samples (class histogram {scores.histogram})")
                sampling = step % args.sample_every == 0 or step == steps
                if sampling:
                    # the fixed noise batch with batch norm in eval mode, as PNG grids: the judged G, and the raw G
                    # beside it when the run averages
                    grids = {f"samples_{step}.png": judged_generator(G, averaged, config, args, step)}
                    if averaged:
                        grids[f"samples_raw_{step}.png"] = G
                    for name, generator in grids.items():
                        gan.save_grid(gan.generate(generator, fixed_z, fixed_labels, args.device),
                                      os.path.join(args.out, name), nrow=grid_columns)
                if sampling or stop.requested:   # a run asked to stop keeps the step it stops at
                    gan.check_finite(step, G=G, D=D)   # a checkpoint is written only of a run that is still whole
                    gan.save_run(checkpoint_path, G, D, opt_G, opt_D, step, batches, config, averaged)
                    saved = step
        except (gan.TrainingDiverged, OSError) as error:   # OSError: a full disk, or a folder made read-only
            progress.close()
            log_file.close()
            if evaluator:
                eval_file.close()
            print(stopped_by(error, step, saved, checkpoint_path), file=sys.stderr)
            return 1
    progress.close()
    log_file.close()
    if stop.requested:
        if evaluator:
            eval_file.close()
        print(f"stopped at step {step} of {steps} ({stop.requested.name}); {checkpoint_path} holds it: go on with "
              f"python examples/mnist_gan.py --resume {shlex.quote(checkpoint_path)}", file=sys.stderr)
        return 128 + stop.requested.value   # as a shell reports a program its signal stopped
    eval_rows = []
    if evaluator:
        eval_file.close()
        with open(os.path.join(args.out, "eval.csv"), newline="") as f:
            eval_rows = list(csv.DictReader(f))

    with open(os.path.join(args.out, "log.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    gan.plot_curves(rows, os.path.join(args.out, "curves.png"), eval_rows)
    elapsed = time.perf_counter() - start
    if args.final_score and args.dataset == "mnist":
        from minigan.metrics import Evaluator
        which = "averaged" if averaged else "raw"
        scores = evaluate(Evaluator(), judged_generator(G, averaged, config, args, step), config, args, step, 10_000)
        print(f"scores of the {which} generator at step {step}, 10,000 samples: Frechet distance "
              f"{scores.frechet_distance:.1f} (PyTorch's reference recipe, 2,000 steps of 64: {REFERENCE_FRECHET}), "
              f"inception score {scores.inception_score:.2f}, {scores.modes} of 10 digits")
    print(f"done: {step} steps in {elapsed:.0f} s. Wrote to {os.path.abspath(args.out)}:\n"
          f"  samples_<step>.png   grids of the fixed noise batch (the latest: samples_{step}.png)\n"
          + ("  samples_raw_<step>.png  the same from the raw generator (samples_<step>.png: the averaged one)\n"
             if averaged else "") +
          "  curves.png           losses, D(x), D(G(z)) and gradient norms over the steps\n"
          "  log.csv              every step's figures\n"
          + (f"  eval.csv             the scores every {args.eval_every} steps\n" if evaluator else "") +
          f"  checkpoint.npz       the whole run: --resume it, or `python -m minigan sample --checkpoint "
          f"{shlex.quote(checkpoint_path)}`")
    return 0


if __name__ == "__main__":
    flags.run(main)

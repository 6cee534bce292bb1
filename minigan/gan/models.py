"""The two players: MLP (after Goodfellow et al., 2014) and DCGAN (Radford et al., 2015), plain or conditional.

Every generator maps noise z of shape (n, nz) (and, when conditional, class labels (n,)) to images
(n, channels, size, size) in [-1, 1]; every discriminator maps images (and labels) to one logit per image,
shape (n,). The logit is returned raw: the losses take log-sigmoids through softplus (gan/losses.py).

Conditional models (Mirza and Osindero, 2014) embed the label and join it to the generator's noise, and to the
discriminator's input (for the DCGAN as one extra image-sized channel).

`config` holds what builds a model, so a checkpoint can rebuild its players (`build_models`). Its `classes`
is how many of the NUM_CLASSES labels a conditional model was trained on (a folder of pictures may have fewer
classes than the ten digits): samples drawn for every class cycle through those only (`class_labels`). An
unconditional model reads no label; its `classes` stays NUM_CLASSES. A conditional model's config may also
name its classes (`class_names`, the sub-folders' names for a folder of pictures); they build nothing, and
say what each label draws (`class_names`, the function, gives the digits' names where none are stored).
"""
import math

import numpy

from minigan import nn, ops
from minigan.messages import shown

NUM_CLASSES = 10


# --------------------------------------------------------------------------- MLP players

class MLPGenerator(nn.Module):
    """z -> [Linear, batch norm (all but the first), LeakyReLU(0.2)] x 3 -> Linear-tanh -> image.

    Hidden widths 256, 512, 1024. Goodfellow et al. (2014) trained MLPs with ReLU units; with those and no
    normalization this generator collapses onto a few digits (mostly ones) on the embedded 10,000. Batch norm
    in the generator and leaky ReLUs, two of Radford et al.'s (2015) guidelines for a stable game, make the
    same-sized MLP game learn all ten digits at the main job's default length.
    """

    def __init__(self, nz=100, image_size=28, channels=1, conditional=False, hidden=(256, 512, 1024)):
        super().__init__()
        self.nz, self.image_size, self.channels, self.conditional = nz, image_size, channels, conditional
        self.label_embedding = nn.Embedding(NUM_CLASSES, NUM_CLASSES) if conditional else None
        width = nz + (NUM_CLASSES if conditional else 0)
        layers = []
        for i, h in enumerate(hidden):
            layers += [nn.Linear(width, h)] + ([nn.BatchNorm1d(h)] if i > 0 else []) + [nn.LeakyReLU(0.2)]
            width = h
        layers += [nn.Linear(width, channels * image_size * image_size), nn.Tanh()]
        self.main = nn.Sequential(*layers)

    def forward(self, z, labels=None):
        _check_input(self, z, (self.nz,))
        z = _join_label(self, z, labels)
        return self.main(z).reshape(z.shape[0], self.channels, self.image_size, self.image_size)


class MLPDiscriminator(nn.Module):
    """image -> Linear-[norm]-LeakyReLU(0.2)-Dropout -> Linear-[norm]-LeakyReLU(0.2)-Dropout -> Linear -> logit
    (hidden widths 512, 256; dropout as Goodfellow et al. used in their discriminators; no normalization
    unless `norm` is "batch" or "layer"; `spectral_norm` wraps every Linear in nn.SpectralNorm)."""

    def __init__(self, image_size=28, channels=1, conditional=False, hidden=(512, 256), dropout=0.3, norm="none",
                 spectral_norm=False):
        super().__init__()
        self.conditional, self.image_shape = conditional, (channels, image_size, image_size)
        self.label_embedding = nn.Embedding(NUM_CLASSES, NUM_CLASSES) if conditional else None
        width = channels * image_size * image_size + (NUM_CLASSES if conditional else 0)
        layers = []
        for h in hidden:
            layers += [nn.Linear(width, h), *_norm_layer(norm, (h,)), nn.LeakyReLU(0.2), nn.Dropout(dropout)]
            width = h
        layers.append(nn.Linear(width, 1))
        self.main = nn.Sequential(*_with_spectral_norm(layers, spectral_norm))

    def forward(self, x, labels=None):
        _check_input(self, x, self.image_shape)
        x = _join_label(self, x.flatten(1), labels)
        return self.main(x).reshape(-1)


D_NORMS = ("batch", "layer", "none")


def _norm_layer(norm, shape):
    """The discriminator's normalization after a layer whose output for one sample has `shape` (channels first):
    a list of no layer or one. Layer norm normalizes each sample over all of `shape`, as Gulrajani et al.'s
    critic does."""
    if norm == "batch":
        return [nn.BatchNorm2d(shape[0]) if len(shape) == 3 else nn.BatchNorm1d(shape[0])]
    if norm == "layer":
        return [nn.LayerNorm(shape)]
    if norm == "none":
        return []
    raise ValueError(f"unknown discriminator normalization {norm!r}: expected one of {D_NORMS}")


def _with_spectral_norm(layers, wanted):
    """`layers` with every Linear and Conv2d wrapped in nn.SpectralNorm when `wanted` (after their weights are
    initialised, so that the power iteration starts from the weights training starts from)."""
    if not wanted:
        return layers
    return [nn.spectral_norm(m) if isinstance(m, (nn.Linear, nn.Conv2d)) else m for m in layers]


def _check_input(model, x, *shapes):
    """Refuse, naming the player, an input whose shape past the batch axis is none of `shapes` (what the player
    was built for): a discriminator built for 28 pixels read 32-pixel images as several windows each and
    returned more scores than images, and a generator given the wrong noise size failed deep in a product."""
    if tuple(x.shape[1:]) not in shapes:
        wanted = " or ".join(str((None,) + shape).replace("None", "n") for shape in shapes)
        raise ValueError(f"{type(model).__name__}: built for input {wanted}, got shape {tuple(x.shape)}")


def _join_label(model, h, labels):
    """(n, features) -> (n, features + classes) with the label's embedding appended; unchanged if unconditional."""
    if not model.conditional:
        if labels is not None:
            raise ValueError(f"{type(model).__name__} is not conditional: do not pass labels")
        return h
    if labels is None:
        raise ValueError(f"{type(model).__name__} is conditional: pass the class labels")
    return ops.cat([h, model.label_embedding(labels)], 1)


# --------------------------------------------------------------------------- DCGAN players

def _dcgan_plan(image_size):
    """(start size, number of stride-2 layers): 28 = 7 * 2**2, 32 = 4 * 2**3, 64 = 4 * 2**4."""
    plans = {28: (7, 2), 32: (4, 3), 64: (4, 4)}
    if image_size not in plans:
        raise ValueError(f"DCGAN: image_size must be one of {sorted(plans)}, got {image_size}")
    return plans[image_size]


class DCGANGenerator(nn.Module):
    """z (n, nz) -> (n, nz, 1, 1) -> ConvTranspose(start x start) -> [ConvTranspose stride 2] x ups -> tanh.

    For 28 x 28 and the defaults this is the reference generator of shared/reference_dcgan.md:
    100 -> 256 @ 7x7 -> 128 @ 14x14 -> 1 @ 28x28; batch norm and ReLU after every layer but the last.
    Channels halve at each stride-2 layer. At 32 and 64 pixels it is the layout of Radford et al.'s Figure 1,
    the mirror of the discriminator: nz -> 8 ngf @ 4x4 -> 4 ngf @ 8x8 -> 2 ngf @ 16x16 -> ngf @ 32x32 ->
    channels @ 64x64 (at 32 pixels, from 4 ngf @ 4x4); the 28-pixel reference starts twice as wide, 4 ngf.
    """

    def __init__(self, nz=100, ngf=64, image_size=28, channels=1, conditional=False):
        super().__init__()
        self.nz, self.conditional = nz, conditional
        start, ups = _dcgan_plan(image_size)
        self.label_embedding = nn.Embedding(NUM_CLASSES, NUM_CLASSES) if conditional else None
        width = ngf * 2 ** (ups if image_size == 28 else ups - 1)
        layers = [nn.ConvTranspose2d(nz + (NUM_CLASSES if conditional else 0), width, start, 1, 0, bias=False),
                  nn.BatchNorm2d(width), nn.ReLU()]
        for _ in range(ups - 1):
            layers += [nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(width // 2),
                       nn.ReLU()]
            width //= 2
        layers += [nn.ConvTranspose2d(width, channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)
        dcgan_init_(self)

    def forward(self, z, labels=None):
        _check_input(self, z, (self.nz,), (self.nz, 1, 1))
        z = _join_label(self, z.reshape(z.shape[0], -1) if z.ndim == 4 else z, labels)
        return self.main(z.reshape(z.shape[0], z.shape[1], 1, 1))


class DCGANDiscriminator(nn.Module):
    """image -> [Conv stride 2, LeakyReLU(0.2)] x downs (a norm on all but the first) -> Conv(start) -> logit.

    For 28 x 28 and the defaults this is the reference discriminator: 1 -> 64 @ 14x14 -> 128 @ 7x7 -> 1 @ 1x1,
    with batch norm. `norm` "layer" puts layer norm in its place (each sample normalized over its channels and
    pixels: a critic trained with a gradient penalty), "none" leaves it out; `spectral_norm` wraps every
    convolution in nn.SpectralNorm. A conditional discriminator reads one more input channel: the label's
    embedding as an image.
    """

    def __init__(self, ndf=64, image_size=28, channels=1, conditional=False, norm="batch", spectral_norm=False):
        super().__init__()
        self.conditional, self.image_size = conditional, image_size
        self.image_shape = (channels, image_size, image_size)
        start, downs = _dcgan_plan(image_size)
        self.label_embedding = nn.Embedding(NUM_CLASSES, image_size * image_size) if conditional else None
        width, size = ndf, image_size // 2
        layers = [nn.Conv2d(channels + (1 if conditional else 0), width, 4, 2, 1, bias=False), nn.LeakyReLU(0.2)]
        for _ in range(downs - 1):
            size //= 2
            layers += [nn.Conv2d(width, width * 2, 4, 2, 1, bias=False),
                       *_norm_layer(norm, (width * 2, size, size)), nn.LeakyReLU(0.2)]
            width *= 2
        layers.append(nn.Conv2d(width, 1, start, 1, 0, bias=False))
        dcgan_init_(nn.Sequential(*layers))
        self.main = nn.Sequential(*_with_spectral_norm(layers, spectral_norm))

    def forward(self, x, labels=None):
        _check_input(self, x, self.image_shape)
        if self.conditional:
            if labels is None:
                raise ValueError("DCGANDiscriminator is conditional: pass the class labels")
            plane = self.label_embedding(labels).reshape(x.shape[0], 1, self.image_size, self.image_size)
            x = ops.cat([x, plane], 1)
        elif labels is not None:
            raise ValueError("DCGANDiscriminator is not conditional: do not pass labels")
        return self.main(x).reshape(-1)


def dcgan_init_(model):
    """Radford et al.: convolution weights ~ N(0, 0.02); batch-norm scales ~ N(1, 0.02), shifts 0."""
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
    return model


# --------------------------------------------------------------------------- building from a config

ARCHS = ("dcgan", "mlp")
DEFAULT_D_NORM = {"dcgan": "batch", "mlp": "none"}


def default_config(**overrides):
    """The settings that build a pair of players; d_norm defaults to the architecture's own."""
    config = {"arch": "dcgan", "nz": 100, "ngf": 64, "ndf": 64, "image_size": 28, "channels": 1,
              "conditional": False, "classes": NUM_CLASSES, "d_norm": None, "spectral_norm": False}
    unknown = set(overrides) - set(config)
    if unknown:
        raise ValueError(f"unknown model settings {sorted(unknown)}")
    config.update(overrides)
    return complete_config(config)


LIMITS = {"nz": 1024, "ngf": 512, "ndf": 512}   # widths past these are no model of this project's, only a memory sink
LATER_SETTINGS = ("d_norm", "spectral_norm", "classes")   # absent from the checkpoints of earlier versions


def complete_config(config):
    """`config` with the settings added since a checkpoint was written filled in with the values that
    earlier version built (the architecture's own normalization, no spectral norm, all ten classes)."""
    config = dict(config)
    config.setdefault("spectral_norm", False)
    config.setdefault("classes", NUM_CLASSES)
    if config.get("d_norm") is None:
        config["d_norm"] = DEFAULT_D_NORM.get(config.get("arch"))
    return config


def check_config(config):
    """Raise ValueError naming the setting if `config` does not describe a model build_models can make (so a
    damaged checkpoint is refused before any memory is spent on it)."""
    if not isinstance(config, dict):
        raise ValueError(f"the model config must be a dict, got {type(config).__name__}")
    missing = [k for k in default_config() if k not in config and k not in LATER_SETTINGS]
    if missing:
        raise ValueError(f"the model config lacks {missing}")
    if not isinstance(config["arch"], str) or config["arch"] not in ARCHS:
        raise ValueError(f"unknown architecture {shown(config['arch'])}: expected one of {ARCHS}")
    for name in ("nz", "ngf", "ndf"):
        value = config[name]
        if type(value) is not int or not 1 <= value <= LIMITS[name]:
            raise ValueError(f"the model setting {name} must be a whole number from 1 to {LIMITS[name]}, "
                             f"got {shown(value)}")
    if type(config["image_size"]) is not int or config["image_size"] not in (28, 32, 64):
        raise ValueError(f"image_size must be 28, 32 or 64, got {shown(config['image_size'])}")
    if type(config["channels"]) is not int or config["channels"] not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {shown(config['channels'])}")
    if type(config["conditional"]) is not bool:
        raise ValueError(f"conditional must be true or false, got {shown(config['conditional'])}")
    classes = config.get("classes", NUM_CLASSES)
    if type(classes) is not int or not 2 <= classes <= NUM_CLASSES:
        raise ValueError(f"classes must be a whole number from 2 to {NUM_CLASSES}, got {shown(classes)}")
    if config.get("d_norm") is not None and config["d_norm"] not in D_NORMS:
        raise ValueError(f"d_norm must be one of {D_NORMS}, got {shown(config['d_norm'])}")
    if type(config.get("spectral_norm", False)) is not bool:
        raise ValueError(f"spectral_norm must be true or false, got {shown(config['spectral_norm'])}")
    names = config.get("class_names")
    if names is not None and not (isinstance(names, list) and len(names) == classes
                                  and all(isinstance(n, str) and len(n) <= 255 for n in names)
                                  and len(set(names)) == len(names)):
        raise ValueError(f"class_names must be {classes} different names (at most 255 characters each), "
                         f"got {shown(names)}")


def class_names(config):
    """The names of the classes a conditional model draws, label by label: those its config stores, else the
    digits' ('0', '1', ...)."""
    return config.get("class_names") or [str(label) for label in range(complete_config(config)["classes"])]


def list_classes(names):
    """'0 circles, 1 squares, ...': each label with its name, as a run and `sample --label` list them."""
    return ", ".join(f"{label} {name or '(the pictures directly in the folder)'}" for label, name in enumerate(names))


def class_labels(n, config):
    """Labels for n samples of the model `config` describes, cycling through the classes it was trained on
    (0, 1, ..., classes - 1, 0, ...); None for an unconditional model."""
    return numpy.arange(n) % complete_config(config)["classes"] if config["conditional"] else None


def build_models(config):
    """(generator, discriminator) described by `config` (see default_config)."""
    check_config(config)
    config = complete_config(config)
    arch = config["arch"]
    common = dict(image_size=config["image_size"], channels=config["channels"], conditional=config["conditional"])
    critic = dict(norm=config["d_norm"], spectral_norm=config["spectral_norm"])
    if arch == "dcgan":
        return (DCGANGenerator(config["nz"], config["ngf"], **common),
                DCGANDiscriminator(config["ndf"], **common, **critic))
    if arch == "mlp":
        return MLPGenerator(config["nz"], **common), MLPDiscriminator(**common, **critic)
    raise ValueError(f"unknown architecture {arch!r}: expected one of {ARCHS}")


def count_parameters(model):
    return sum(math.prod(p.shape) for p in model.parameters())

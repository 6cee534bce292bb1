"""Drawing images from a generator: in chunks, with batch norm in eval mode, as NumPy arrays."""
import numpy

from minigan.autograd.tensor import Tensor, no_grad, tensor


def as_numpy(values):
    """A tensor's values as a NumPy array; an array (or None) as it is: the picture helpers take either."""
    return values.numpy() if isinstance(values, Tensor) else values


def generate(G, z, labels=None, device="cpu", chunk=500):
    """G's images for the noise rows z (n, nz) and, for a conditional G, labels (n,), arrays or tensors:
    float32 NumPy (n, c, h, w) in [-1, 1]. Batch norm uses its running statistics; G's mode is restored after."""
    z, labels = as_numpy(z), as_numpy(labels)
    training = G.training
    G.eval()
    out = []
    try:
        with no_grad():
            for start in range(0, len(z), chunk):
                zs = tensor(numpy.asarray(z[start:start + chunk], dtype=numpy.float32), device=device)
                ys = tensor(labels[start:start + chunk], device=device) if labels is not None else None
                out.append(G(zs, ys).numpy())
    finally:
        G.train(training)
    return numpy.concatenate(out)


def to_pixels(images):
    """Images in [-1, 1], (n, c, h, w), as uint8 pixels 0-255 like MNIST's: (n, h, w) for one channel."""
    images = as_numpy(images)
    pixels = numpy.round((images + 1) * 127.5).clip(0, 255).astype(numpy.uint8)
    return pixels[:, 0] if pixels.shape[1] == 1 else pixels

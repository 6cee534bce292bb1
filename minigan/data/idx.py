"""Reading IDX files, the format MNIST and Fashion-MNIST ship in (raw or gzipped).

An IDX file is: two zero bytes, one byte naming the element type, one byte giving the number of dimensions
d, then d big-endian uint32 sizes, then the elements in C order, big-endian. Every part is checked, so a
truncated, padded or foreign file is refused with a message that says which part is wrong.
"""
import gzip
import os
import zlib

import numpy

DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
MAX_BYTES = 1 << 30   # what a file may hold, decompressed: MNIST's training images hold 47 MB, EMNIST's 640 MB


class IDXError(ValueError):
    """An IDX file that is not what its header says."""


def read_idx(path):
    """The array stored in the IDX file at `path` (gzip-compressed or not, told by its first bytes)."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            compressed = f.read(2) == b"\x1f\x8b"
    except OSError as error:
        raise IDXError(f"{path}: cannot be read ({error.strerror or error})") from None
    try:
        opener = gzip.open if compressed else open
        with opener(path, "rb") as f:
            raw = f.read(MAX_BYTES + 1)   # no more: a small gzip can unpack to any size
    except (OSError, EOFError, zlib.error) as error:
        raise IDXError(f"{path}: cannot {'decompress' if compressed else 'read'} it ({error})") from None
    if len(raw) > MAX_BYTES:
        raise IDXError(f"{path}: holds more than {MAX_BYTES:,} bytes{' once decompressed' if compressed else ''}, "
                       "more than any IDX data set of images; refusing to read it")
    return parse_idx(raw, path)


def parse_idx(raw, name="<bytes>"):
    if len(raw) < 4:
        raise IDXError(f"{name}: {len(raw)} bytes is too short for an IDX header")
    if raw[0] != 0 or raw[1] != 0:
        raise IDXError(f"{name}: bad magic number (first bytes {raw[:4].hex()}, expected 0000tttd)")
    code, ndim = raw[2], raw[3]
    if code not in DTYPES:
        raise IDXError(f"{name}: unknown element type 0x{code:02x} (expected one of "
                       f"{', '.join(f'0x{c:02x}' for c in DTYPES)})")
    if ndim == 0:
        raise IDXError(f"{name}: the header declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise IDXError(f"{name}: the header declares {ndim} dimensions but the file ends at byte {len(raw)}")
    shape = tuple(int(n) for n in numpy.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = numpy.dtype(DTYPES[code])
    expected = header + int(numpy.prod(shape)) * dtype.itemsize
    if len(raw) != expected:
        raise IDXError(f"{name}: the header declares shape {shape} of {dtype.name} ({expected} bytes in all), "
                       f"but the file has {len(raw)} bytes ({'truncated' if len(raw) < expected else 'trailing data'})")
    return numpy.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))

"""Data: the IDX reader, the embedded MNIST digits and other sources, and the batch iterator."""
from minigan.data.batches import Batches, to_unit_range
from minigan.data.idx import IDXError, parse_idx, read_idx
from minigan.data.folder import load_folder
from minigan.data.sources import CLASS_NAMES, DataNotFound, download_mnist, load, load_embedded, load_idx_folder

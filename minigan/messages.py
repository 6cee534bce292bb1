"""How a value read from a file or a command line appears in a one-line error message."""


def shown(value):
    """Short and on one line: an array by its shape alone, anything else by a repr cut to 40 characters."""
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return f"an array of shape {tuple(value.shape)}"
    text = repr(value).replace("\n", " ")
    return text if len(text) <= 40 else text[:37] + "..."

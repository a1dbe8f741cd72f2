"""MNIST from the four standard IDX files, with an optional checked download.

Nothing is fetched unless files are missing and ``download=True``. Downloads go through
:data:`MIRRORS` in order, are checked against :data:`SHA256` and are written atomically, so
an interrupted or corrupt download never leaves a file that looks complete.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import math
import os
import struct
import tempfile
import urllib.request
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from .bundled import LabeledData

# Base URLs tried in order; each must serve the four ``.gz`` files named in SHA256.
# (yann.lecun.com is left out: it often refuses scripted downloads.)
MIRRORS: list[str] = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
]

# SHA-256 of the standard gzipped files (train images: 9,912,422 bytes). These are the
# widely published values, identical across many independent MNIST loaders; they could
# not be re-checked against a live download here (no internet). A download that differs
# is rejected. Kept in `sha256sum` format so hand-placed files can be checked with
# `sha256sum -c`.
_SHA256SUMS = """
440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609  train-images-idx3-ubyte.gz
3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c  train-labels-idx1-ubyte.gz
8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6  t10k-images-idx3-ubyte.gz
f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6  t10k-labels-idx1-ubyte.gz
"""
SHA256: dict[str, str] = {
    name: digest for digest, name in (line.split() for line in _SHA256SUMS.strip().splitlines())
}

FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)

ENV_VAR = "TINYGRAD_SM_DATA"
DOWNLOAD_TIMEOUT = 60.0  # seconds without data before a mirror is given up

# IDX type codes (third magic byte) -> big-endian element type.
_IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


_MAX_DEFLATE_RATIO = 1032  # deflate's limit: one compressed byte stands for at most 1032
_CHUNK = 1 << 18  # GzipFile.read(n) briefly holds about 4n bytes


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read one IDX file (gzipped if its name ends in ``.gz``) into a native-endian array.

    The header (magic number, type code, dimensions) is read and checked first, and the
    size it declares is checked against the file (for a ``.gz``, against the gzip trailer
    and the most deflate can expand) before any data is read; the data is then streamed
    into one preallocated array, so memory stays close to the declared payload.

    Raises ``ValueError`` naming the file if the header is malformed (bad magic number,
    unknown type code, no dimensions), declares a size the file does not hold, or the
    payload is truncated or has trailing bytes.
    """
    path = Path(path)
    gz = path.suffix == ".gz"
    try:
        with (gzip.open(path, "rb") if gz else open(path, "rb")) as f:
            shape, dtype, header = _read_idx_header(f, path)
            nbytes = math.prod(shape) * dtype.itemsize
            _check_declared_size(path, shape, dtype, header, nbytes, gz)
            data = _read_payload(f, path, shape, dtype, nbytes)
            trailing = len(f.read(_CHUNK))
    except (EOFError, gzip.BadGzipFile, zlib.error) as e:
        raise ValueError(f"read_idx: {path} is not a valid gzip file (truncated?): {e}") from e
    if trailing:  # only a .gz gets here: a plain file's size was checked before reading
        raise _size_mismatch(path, shape, nbytes, nbytes + trailing,
                             "+" if trailing == _CHUNK else "")
    if not dtype.isnative:  # in place: no second copy of the payload
        data = data.byteswap(inplace=True).view(dtype.newbyteorder("="))
    return data.reshape(shape)


def _read_idx_header(f: Any, path: Path) -> tuple[tuple[int, ...], np.dtype, int]:
    """``(shape, dtype, header size)`` from the start of an IDX file."""
    magic = f.read(4)
    if len(magic) < 4:
        raise ValueError(f"read_idx: {path} is truncated: {len(magic)} bytes, no IDX header")
    if magic[0] != 0 or magic[1] != 0:
        raise ValueError(
            f"read_idx: {path} has a bad magic number 0x{magic.hex()} "
            "(an IDX file starts with two zero bytes)"
        )
    code, ndim = magic[2], magic[3]
    if code not in _IDX_DTYPES:
        raise ValueError(f"read_idx: {path} has unknown IDX type code 0x{code:02x}")
    if ndim == 0:
        raise ValueError(f"read_idx: {path} declares 0 dimensions")
    dims = f.read(4 * ndim)
    header = 4 + 4 * ndim
    if len(dims) < 4 * ndim:
        raise ValueError(f"read_idx: {path} is truncated inside its header "
                         f"({4 + len(dims)} of {header} bytes)")
    return struct.unpack(f">{ndim}I", dims), _IDX_DTYPES[code], header


def _check_declared_size(path: Path, shape: tuple[int, ...], dtype: np.dtype, header: int,
                         nbytes: int, gz: bool) -> None:
    """Refuse, before reading any data, a size the file cannot hold."""
    claim = (f"its header declares shape {shape} of {dtype.newbyteorder('=')}: "
             f"{math.prod(shape)} values, {nbytes} data bytes")
    size = path.stat().st_size
    if not gz:
        if size - header != nbytes:
            raise _size_mismatch(path, shape, nbytes, size - header)
        return
    if nbytes > _MAX_DEFLATE_RATIO * size:
        raise ValueError(f"read_idx: {path} is too small for its header: {claim}, but a "
                         f"{size}-byte gzip file expands to at most {_MAX_DEFLATE_RATIO * size} "
                         "bytes")
    with open(path, "rb") as raw:
        raw.seek(-4, os.SEEK_END)  # gzip's trailer: the uncompressed size, modulo 2**32
        isize = int.from_bytes(raw.read(4), "little")
    # A mismatch in a small file is found, and described exactly, by reading it; a large
    # claim is refused now, before memory is allocated for it.
    if isize != (header + nbytes) % 2**32 and nbytes > _CHUNK:
        raise ValueError(f"read_idx: {path} does not match its header: {claim} "
                         f"({header + nbytes} bytes with the header), but its gzip trailer "
                         f"says it holds {isize} bytes (modulo 2**32): the file is truncated "
                         "or corrupt, or its header is wrong")


def _size_mismatch(path: Path, shape: tuple[int, ...], nbytes: int, found: int,
                   more: str = "") -> ValueError:
    if found < nbytes:
        return ValueError(f"read_idx: {path} is truncated: shape {shape} needs {nbytes} data "
                          f"bytes, found {found}")
    return ValueError(f"read_idx: {path} has {found - nbytes}{more} unexpected trailing bytes "
                      f"after the {nbytes} data bytes of shape {shape}")


def _read_payload(f: Any, path: Path, shape: tuple[int, ...], dtype: np.dtype,
                  nbytes: int) -> np.ndarray:
    """The data, read a chunk at a time into one array of the declared size."""
    try:
        data = np.empty(math.prod(shape), dtype)
    except (MemoryError, ValueError) as e:
        raise ValueError(f"read_idx: {path} declares shape {shape} ({nbytes} bytes), which "
                         f"cannot be allocated: {e}") from None
    buf = data.view(np.uint8)
    done = 0
    while done < nbytes:
        chunk = f.read(min(_CHUNK, nbytes - done))
        if not chunk:
            raise _size_mismatch(path, shape, nbytes, done)
        buf[done:done + len(chunk)] = np.frombuffer(chunk, np.uint8)
        done += len(chunk)
    return data


def default_root() -> Path:
    """``$TINYGRAD_SM_DATA`` if set, else ``~/.cache/tinygrad_sm/mnist``."""
    env = os.environ.get(ENV_VAR)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "tinygrad_sm" / "mnist"


def _manual_hint(root: Path, names: list[str]) -> str:
    return (
        f"Put the MNIST files {', '.join(n + '.gz' for n in names)} (gzipped or not) in "
        f"{root} by hand, or pass root=... / set ${ENV_VAR} to the folder that holds them."
    )


def _download(name: str, root: Path) -> Path:
    """Fetch ``name`` (a ``.gz`` file) from the first mirror that serves a good copy."""
    expected = SHA256[name]
    target = root / name
    failures = []
    for base in MIRRORS:
        url = base.rstrip("/") + "/" + name
        fd, tmp = tempfile.mkstemp(dir=root, prefix=f".{name}.", suffix=".part")
        try:
            digest = hashlib.sha256()
            with (
                os.fdopen(fd, "wb") as out,
                urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as response,
            ):
                while chunk := response.read(1 << 16):
                    digest.update(chunk)
                    out.write(chunk)
            if digest.hexdigest() != expected:
                failures.append(
                    f"{url}: SHA-256 mismatch (got {digest.hexdigest()}, expected {expected})"
                )
                continue
            os.replace(tmp, target)
            return target
        # URLError, HTTPError and timeouts are OSErrors; a dropped connection mid-body is
        # an HTTPException (IncompleteRead); a malformed mirror URL is a ValueError.
        except (OSError, http.client.HTTPException, ValueError) as e:
            failures.append(f"{url}: {e}")
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    raise RuntimeError(
        f"load_mnist: could not download {name}:\n  "
        + "\n  ".join(failures or ["no mirrors configured"])
        + "\n"
        + _manual_hint(root, [name.removesuffix(".gz")])
    )


def _find(root: Path, name: str) -> Path | None:
    for candidate in (root / name, root / (name + ".gz")):
        if candidate.is_file():
            return candidate
    return None


def _split(images: np.ndarray, labels: np.ndarray, img: Path, lab: Path) -> LabeledData:
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(
            f"load_mnist: {img} should hold uint8 images of shape (n, rows, cols), "
            f"got {images.dtype} {images.shape}"
        )
    if labels.ndim != 1 or labels.dtype != np.uint8 or len(labels) != len(images):
        raise ValueError(
            f"load_mnist: {lab} should hold {len(images)} uint8 labels to match {img}, "
            f"got {labels.dtype} {labels.shape}"
        )
    if len(labels) and labels.max() > 9:
        raise ValueError(f"load_mnist: {lab} has label {labels.max()}, outside 0..9")
    X = images.reshape(len(images), -1).astype(np.float32) / np.float32(255)
    return LabeledData(X, labels.astype(np.int64), tuple(str(d) for d in range(10)))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _verify(path: Path) -> None:
    """Check a ``.gz`` file placed by hand against the published SHA-256."""
    expected, got = SHA256[path.name], _sha256(path)
    if got != expected:
        raise ValueError(
            f"load_mnist: {path} is not the standard MNIST file: its SHA-256 is {got}, "
            f"expected {expected}. It may be truncated or corrupt: delete it and load again "
            "to download it, or put the original file there. To read other files in the "
            "same format (e.g. Fashion-MNIST), pass verify=False."
        )


def load_mnist(
    root: str | os.PathLike[str] | None = None, download: bool = True, verify: bool = True
) -> tuple[LabeledData, LabeledData]:
    """Return ``(train, test)`` MNIST, X of shape (n, 784) float32 in [0, 1], classes '0'..'9'.

    Files are read from ``root`` (default :func:`default_root`), each either plain or
    ``.gz``. Missing ones are downloaded there when ``download`` is true; otherwise, or
    when every mirror fails, an error says where to put them by hand.

    Downloads are always checked against :data:`SHA256`; with ``verify`` (the default)
    ``.gz`` files found in ``root`` are checked too. Plain (unzipped) files cannot be:
    only the digests of the published ``.gz`` files are known; their headers and sizes
    are still checked (:func:`read_idx`).
    """
    root = Path(root).expanduser() if root is not None else default_root()
    found = {name: _find(root, name) for name in FILES}
    missing = [name for name, path in found.items() if path is None]
    if missing and not download:
        raise FileNotFoundError(
            f"load_mnist: {', '.join(missing)} not found in {root} and download=False.\n"
            + _manual_hint(root, missing)
        )
    if verify:
        for path in found.values():
            if path is not None and path.suffix == ".gz":
                _verify(path)
    if missing:
        root.mkdir(parents=True, exist_ok=True)
        for name in missing:
            found[name] = _download(name + ".gz", root)

    paths = [found[name] for name in FILES]
    arrays = [read_idx(p) for p in paths]
    train = _split(arrays[0], arrays[1], paths[0], paths[1])
    test = _split(arrays[2], arrays[3], paths[2], paths[3])
    return train, test

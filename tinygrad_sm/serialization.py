"""``save(obj, path)`` and ``load(path)`` for state dicts and checkpoints, without pickle.

The file is an ordinary NumPy ``.npz`` archive: every array, number and string of the
(nested) object is one entry, named by its path with '/' between levels
(``model/0.weight``, ``epoch``), so ``numpy.load`` can read it too. One more entry,
``__tinygrad_sm__``, holds a JSON manifest: the format version and the structure (dict
keys, list/tuple order, and each leaf's kind, dtype and shape), so that ``load`` rebuilds
the same object.

What the files promise:

- **No code execution.** ``load`` never unpickles: entries of dtype object (and the other
  dtypes ``save`` refuses: bytes, datetime, structured) are refused.
- **Atomic writes.** The archive is written to a temporary file in the same directory
  (``.<name>.<pid>.<random>.tinygrad_sm-tmp``), flushed to disk, then renamed over
  ``path`` (``os.replace``), so a crash leaves the old file or the new one, never half of
  one. Temporary files left by a killed save are removed by the next save to that path.
- **Ordinary permissions.** A new file gets ``0o666`` minus the umask (0644 under umask
  022), as ``open`` and ``torch.save`` give; an overwritten file keeps its mode.
- **Bounded memory on load.** ``load`` reads only the entries the manifest names, and
  checks each entry's ``.npy`` header (dtype, shape, size) against the manifest and the
  archive before reading its data, so a small file cannot make it allocate more than it
  holds.

What can be saved: dicts (str or int keys), lists and tuples, up to ``MAX_DEPTH`` levels
deep, of: Tensors, NumPy arrays (numeric, bool or str), NumPy scalars, Python
int/float/bool/str, and None. Keys that a zip entry name cannot hold (a NUL byte, more than
64 KiB) are refused before anything is written.

What ``load`` returns: the same structure, with **every Tensor or array as a NumPy
array** (a Tensor comes back as its data: pass it to ``load_state_dict``, or wrap it with
``tg.tensor``), NumPy scalars as NumPy scalars, and Python numbers, strings and None as
themselves. Differences from ``torch.save``/``torch.load``: no pickled objects (a model
must be saved as ``model.state_dict()``); Tensors are not restored as Tensors.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from typing import IO, Any

import numpy as np

from tinygrad_sm.core.tensor import Tensor

__all__ = ["SerializationError", "load", "save"]

MANIFEST = "__tinygrad_sm__"
FORMAT = "tinygrad_sm.checkpoint"
VERSION = 1
MAX_DEPTH = 100  # nesting levels: far beyond any checkpoint, far below Python's recursion limit
TMP_SUFFIX = ".tinygrad_sm-tmp"

_SAVED_KINDS = "biufcU"  # bool, ints, floats, complex, str: arrays that need no pickle
_NAME_MAX = 0xFFFF - len(".npy")  # a zip entry name's length is a 16-bit field (bytes)
_READ_CHUNK = 1 << 20


class SerializationError(ValueError):
    """A file that ``load`` cannot read: truncated, corrupt, or not written by ``save``."""


# -- save ----------------------------------------------------------------------------------


def _entry_name(path: list[str], arrays: dict[str, np.ndarray]) -> str:
    """The archive entry for the leaf at ``path``: its path joined with '/', checked so that
    it can be written and read back, and made unique."""
    name = "/".join(path) or "value"
    where = "/".join(path) or "<root>"
    if "\x00" in name:
        raise ValueError(f"save: the key at {where!r} contains a NUL byte, which an archive "
                         "entry name cannot hold")
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError as err:
        raise ValueError(f"save: the key at {where!r} is not valid Unicode ({err.reason}); "
                         "an archive entry name must be UTF-8") from None
    if size > _NAME_MAX - 16:  # room for a '~n' suffix
        raise ValueError(f"save: the key at {where[:40]!r}... is {size} bytes long; an "
                         f"archive entry name holds at most {_NAME_MAX - 16}")
    base, n = name, 1
    while not _is_free(name, arrays):
        name, n = f"{base}~{n}", n + 1
    return name


def _is_free(name: str, arrays: dict[str, np.ndarray]) -> bool:
    # numpy.load looks up 'x.npy' as the member 'x.npy' (entry 'x') before 'x.npy.npy':
    # so 'x' and 'x.npy' must not both be entries, or numpy.load would mix them up.
    taken = {MANIFEST, *arrays}
    return not (name in taken or name + ".npy" in taken
                or (name.endswith(".npy") and name[:-4] in taken))


def _encode(obj: Any, path: list[str], arrays: dict[str, np.ndarray]) -> Any:
    """The manifest node for ``obj``; its arrays go into ``arrays`` under flattened keys."""
    where = "/".join(path) or "<root>"
    if len(path) > MAX_DEPTH:
        raise ValueError(f"save: the object nests deeper than {MAX_DEPTH} levels (at "
                         f"{where[:80]}...)")
    if isinstance(obj, dict):
        items = []
        for k, v in obj.items():
            if isinstance(k, bool) or not isinstance(k, str | int):
                raise TypeError(f"save: dict keys must be str or int; got {k!r} "
                                f"({type(k).__name__}) at {where}")
            items.append([k, _encode(v, path + [str(k)], arrays)])
        return {"kind": "dict", "items": items}
    if isinstance(obj, list | tuple):
        return {"kind": type(obj).__name__,
                "items": [_encode(v, path + [str(i)], arrays) for i, v in enumerate(obj)]}
    if obj is None:
        return {"kind": "none"}
    if isinstance(obj, Tensor | np.ndarray | np.generic):
        kind = "scalar" if isinstance(obj, np.generic) else "array"
        arr = np.asarray(obj.data if isinstance(obj, Tensor) else obj)
    elif isinstance(obj, bool | int | float | str):
        if isinstance(obj, str) and obj.endswith("\x00"):
            raise ValueError(f"save: the str at {where} ends with a NUL character, which "
                             "NumPy's str arrays drop: it would not load back the same")
        kind = type(obj).__name__
        arr = np.asarray(obj)
    else:
        hint = " (save model.state_dict(), not the model)" if hasattr(obj, "state_dict") else ""
        raise TypeError(f"save: cannot store a {type(obj).__name__} at {where}{hint}; "
                        "supported: dict, list, tuple, Tensor, ndarray, int, float, bool, "
                        "str, None")
    if arr.dtype.kind not in _SAVED_KINDS:
        raise TypeError(f"save: arrays of dtype {arr.dtype} cannot be stored without pickle "
                        f"(at {where})")
    key = _entry_name(path, arrays)
    arrays[key] = arr
    return {"kind": kind, "key": key, "dtype": arr.dtype.str, "shape": list(arr.shape)}


def save(obj: Any, path: str | os.PathLike[str]) -> None:
    """Write ``obj`` (e.g. ``model.state_dict()``, or a dict holding several state dicts
    and numbers) to ``path`` as an ``.npz`` archive, atomically. The path is used as given
    (no '.npz' is appended). Everything is checked before the file is touched."""
    arrays: dict[str, np.ndarray] = {}
    tree = _encode(obj, [], arrays)
    manifest = json.dumps({"format": FORMAT, "version": VERSION, "tree": tree})
    entries = {MANIFEST: np.asarray(manifest), **arrays}
    _write_atomically(os.fspath(path), lambda f: _write_npz(f, entries))


def _write_npz(f: IO[bytes], entries: dict[str, np.ndarray]) -> None:
    # what np.savez does, minus its keyword arguments (a key named 'file' would clash)
    with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        for key, arr in entries.items():
            with zf.open(key + ".npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, arr, allow_pickle=False)


def _write_atomically(path: str, write: Callable[[IO[bytes]], None]) -> None:
    """Write a temporary file beside ``path`` with ``write``, then rename it over ``path``."""
    directory = os.path.dirname(os.path.abspath(path))
    prefix = _tmp_prefix(path)
    _remove_stale_tmp_files(directory, prefix)
    mode = _new_file_mode(path)
    fd, tmp = tempfile.mkstemp(prefix=f"{prefix}{os.getpid()}.", suffix=TMP_SUFFIX,
                               dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)  # mkstemp makes it 0600, and the rename would keep that
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
    _fsync_directory(directory)


def _tmp_prefix(path: str) -> str:
    # Capped so that prefix, pid, random part and suffix fit a 255-byte file name.
    return f".{os.path.basename(path)[:180]}."


def _new_file_mode(path: str) -> int:
    """The mode ``open(path, 'wb')`` would leave: the existing file's, else 0666 - umask."""
    with contextlib.suppress(OSError):
        return stat.S_IMODE(os.stat(path).st_mode)
    umask = os.umask(0)  # the only portable way to read it is to set it and set it back
    os.umask(umask)
    return 0o666 & ~umask


def _remove_stale_tmp_files(directory: str, prefix: str) -> None:
    """Remove the temporary files of earlier saves to the same path whose process is gone
    (killed mid-write); those of a save still running elsewhere are left alone."""
    pattern = re.compile(re.escape(prefix) + r"(\d+)\.[a-z0-9_]{8}" + re.escape(TMP_SUFFIX))
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        match = pattern.fullmatch(name)
        if match and not _process_alive(int(match.group(1))):
            with contextlib.suppress(OSError):
                os.remove(os.path.join(directory, name))


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True  # maybe another thread's save
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError, ValueError):
        return True  # exists but not ours (EPERM), or cannot tell: keep its file
    return True


def _fsync_directory(directory: str) -> None:
    # Makes the rename itself durable; not possible everywhere (Windows), hence optional.
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# -- load ----------------------------------------------------------------------------------


class _Reader:
    """Reads the entries of one archive that its manifest names, checking each first."""

    def __init__(self, zf: zipfile.ZipFile, path: str) -> None:
        self.zf, self.path = zf, path
        self.seen: set[str] = set()

    def error(self, message: str) -> SerializationError:
        return SerializationError(f"load: {self.path}: {message}")

    def manifest(self) -> dict[str, Any]:
        arr = self.entry(MANIFEST, {})
        if arr.dtype.kind != "U" or arr.ndim != 0:
            raise self.error(f"the manifest is a {arr.dtype} array of shape {arr.shape}, "
                             "not a string")
        try:
            manifest = json.loads(str(arr[()]))
        except RecursionError:
            raise self.error("the manifest nests too deep to be read") from None
        except json.JSONDecodeError as err:
            raise self.error(f"the manifest is not valid JSON ({err})") from None
        if not isinstance(manifest, dict):
            raise self.error(f"the manifest is a JSON {type(manifest).__name__}, not an object")
        if manifest.get("format") != FORMAT:
            raise self.error(f"unknown format {manifest.get('format')!r}")
        version = manifest.get("version", 0)
        if not isinstance(version, int) or version > VERSION:
            raise SerializationError(
                f"load: {self.path} was written by a newer tinygrad_sm (format version "
                f"{version!r}; this one reads up to {VERSION})"
            )
        return manifest

    def entry(self, key: Any, node: dict[str, Any]) -> np.ndarray:
        """The array of entry ``key``, after checking its header against ``node`` (the
        manifest's dtype and shape, when given) and against the entry's size."""
        if not isinstance(key, str) or key in self.seen:
            raise self.error(f"the manifest names the entry {key!r} twice or not as a string")
        self.seen.add(key)
        try:
            info = self.zf.getinfo(key + ".npy")
        except KeyError:
            raise self.error(f"the manifest names an entry {key!r} that the archive does not "
                             "hold") from None
        with self.zf.open(info) as f:
            shape, fortran, dtype = self._header(f, key)
            if dtype.kind not in _SAVED_KINDS or dtype.fields is not None or dtype.subdtype:
                raise self.error(f"entry {key!r} has dtype {dtype}, which load refuses (it "
                                 "reads bool, number and str arrays, as save writes them)")
            if "dtype" in node and node["dtype"] != dtype.str:
                raise self.error(f"entry {key!r} holds {dtype.str} but the manifest says "
                                 f"{node['dtype']!r}")
            if "shape" in node and node["shape"] != list(shape):
                raise self.error(f"entry {key!r} has shape {shape} but the manifest says "
                                 f"{node['shape']!r}")
            nbytes = math.prod(shape) * dtype.itemsize
            if any(d < 0 for d in shape) or f.tell() + nbytes != info.file_size:
                raise self.error(
                    f"entry {key!r} declares shape {shape} of {dtype} ({nbytes} bytes) but "
                    f"holds {info.file_size - f.tell()} data bytes"
                )
            return _read_payload(f, shape, fortran, dtype)

    def _header(self, f: IO[bytes], key: str) -> tuple[tuple[int, ...], bool, np.dtype]:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            return np.lib.format.read_array_header_1_0(f)
        if version == (2, 0):
            return np.lib.format.read_array_header_2_0(f)
        raise self.error(f"entry {key!r} has .npy format version {version}, which load does "
                         "not read")


def _read_payload(f: IO[bytes], shape: tuple[int, ...], fortran: bool,
                  dtype: np.dtype) -> np.ndarray:
    """Read the data into a preallocated array, a chunk at a time (no second copy)."""
    arr = np.empty(math.prod(shape), dtype)
    if arr.nbytes:
        buf = arr.view(np.uint8)
        for start in range(0, arr.nbytes, _READ_CHUNK):
            chunk = f.read(min(_READ_CHUNK, arr.nbytes - start))
            if not chunk:
                raise EOFError("the entry ended early")
            buf[start:start + len(chunk)] = np.frombuffer(chunk, np.uint8)
    f.read(1)  # reach the end, so that the zip module checks the CRC
    if fortran:
        return arr.reshape(shape[::-1]).transpose()
    return arr.reshape(shape)


_SCALAR_KINDS = {"int": ("iu", int), "float": ("f", float), "bool": ("b", bool),
                 "str": ("U", str)}


def _decode(node: Any, reader: _Reader, where: str, depth: int = 0) -> Any:
    if depth > MAX_DEPTH:
        raise reader.error(f"the manifest nests deeper than {MAX_DEPTH} levels")
    if not isinstance(node, dict) or not isinstance(node.get("kind"), str):
        raise reader.error(f"the manifest entry at {where} is not a {{'kind': ...}} object")
    kind = node["kind"]
    if kind == "none":
        return None
    if kind in ("dict", "list", "tuple"):
        items = node.get("items")
        if not isinstance(items, list):
            raise reader.error(f"the {kind} at {where} has no list of items")
        if kind != "dict":
            values = [_decode(v, reader, f"{where}/{i}", depth + 1) for i, v in enumerate(items)]
            return values if kind == "list" else tuple(values)
        out = {}
        for item in items:
            if (not isinstance(item, list) or len(item) != 2 or isinstance(item[0], bool)
                    or not isinstance(item[0], str | int)):
                raise reader.error(f"the dict at {where} has an item that is not a "
                                   f"[str or int key, value] pair: {str(item)[:80]}")
            out[item[0]] = _decode(item[1], reader, f"{where}/{item[0]}", depth + 1)
        return out
    if kind not in ("array", "scalar", *_SCALAR_KINDS):
        raise reader.error(f"unknown entry kind {kind!r} at {where} in its manifest")
    arr = reader.entry(node.get("key"), node)
    if kind == "array":
        return arr
    if arr.ndim != 0:
        raise reader.error(f"the {kind} at {where} is an array of shape {arr.shape}")
    if kind == "scalar":
        return arr[()]
    kinds, convert = _SCALAR_KINDS[kind]
    if arr.dtype.kind not in kinds:
        raise reader.error(f"the {kind} at {where} is stored as {arr.dtype}")
    return convert(arr[()])


def load(path: str | os.PathLike[str]) -> Any:
    """Read an object written by ``save``: arrays come back as NumPy arrays (see the module
    docstring). Raises FileNotFoundError for a missing file and ``SerializationError`` (a
    ValueError) for one that is empty, truncated, corrupt, not written by ``save``, or whose
    entries do not match its manifest."""
    path = os.fspath(path)
    with open(path, "rb") as f:
        head = f.read(4)
    if not head:
        raise SerializationError(f"load: {path} is empty")
    if head != b"PK\x03\x04":
        what = "a .npy array" if head == b"\x93NUM" else "not an .npz (zip) archive"
        raise SerializationError(f"load: {path} is not a tinygrad_sm checkpoint: it is {what}")
    try:
        with zipfile.ZipFile(path) as zf:
            if MANIFEST + ".npy" not in zf.namelist():
                raise SerializationError(
                    f"load: {path} is an .npz archive but was not written by "
                    f"tinygrad_sm.save (no {MANIFEST!r} entry); read it with numpy.load"
                )
            reader = _Reader(zf, path)
            manifest = reader.manifest()
            return _decode(manifest.get("tree"), reader, "<root>")
    except SerializationError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError, TypeError,
            NotImplementedError, zlib.error) as err:
        raise SerializationError(
            f"load: {path} is truncated, corrupt or not a valid checkpoint "
            f"({type(err).__name__}: {err})"
        ) from err

"""``save(obj, path)`` and ``load(path)`` for state dicts and checkpoints, without pickle.

The file is an ordinary NumPy ``.npz`` archive: every array, number and string of the
(nested) object is one entry, named by its path with '/' between levels
(``model/0.weight``, ``epoch``), so ``numpy.load`` can read it too. One more entry,
``__tinygrad_sm__``, holds a JSON manifest: the format version and the structure (dict
keys, list/tuple order, and each leaf's kind), so that ``load`` rebuilds the same object.

Safety: ``load`` opens the archive with ``allow_pickle=False``, so loading a file never
executes code. Writes are atomic: the archive is written to a temporary file in the same
directory, flushed to disk, then renamed over ``path`` (``os.replace``), so a crash leaves
the old file or the new one, never half of one.

What can be saved: dicts (str or int keys), lists and tuples of: Tensors, NumPy arrays
(numeric or bool), NumPy scalars, Python int/float/bool/str, and None.

What ``load`` returns: the same structure, with **every Tensor or array as a NumPy
array** (a Tensor comes back as its data: pass it to ``load_state_dict``, or wrap it with
``tg.tensor``), NumPy scalars as NumPy scalars, and Python numbers, strings and None as
themselves. Differences from ``torch.save``/``torch.load``: no pickled objects (a model
must be saved as ``model.state_dict()``); Tensors are not restored as Tensors.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import zipfile
from typing import Any

import numpy as np

from tinygrad_sm.core.tensor import Tensor

__all__ = ["SerializationError", "load", "save"]

MANIFEST = "__tinygrad_sm__"
FORMAT = "tinygrad_sm.checkpoint"
VERSION = 1


class SerializationError(ValueError):
    """A file that ``load`` cannot read: truncated, corrupt, or not written by ``save``."""


# -- save ----------------------------------------------------------------------------------


def _encode(obj: Any, path: list[str], arrays: dict[str, np.ndarray]) -> Any:
    """The manifest node for ``obj``; its arrays go into ``arrays`` under flattened keys."""
    where = "/".join(path) or "<root>"
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
        kind = type(obj).__name__
        arr = np.asarray(obj)
    else:
        hint = " (save model.state_dict(), not the model)" if hasattr(obj, "state_dict") else ""
        raise TypeError(f"save: cannot store a {type(obj).__name__} at {where}{hint}; "
                        "supported: dict, list, tuple, Tensor, ndarray, int, float, bool, "
                        "str, None")
    if arr.dtype.kind not in "biufcU":
        raise TypeError(f"save: arrays of dtype {arr.dtype} cannot be stored without pickle "
                        f"(at {where})")
    key, n = "/".join(path) or "value", 1
    while key in arrays or key == MANIFEST:  # two paths that join to the same name
        key, n = f"{'/'.join(path)}~{n}", n + 1
    arrays[key] = arr
    return {"kind": kind, "key": key}


def save(obj: Any, path: str | os.PathLike[str]) -> None:
    """Write ``obj`` (e.g. ``model.state_dict()``, or a dict holding several state dicts
    and numbers) to ``path`` as an ``.npz`` archive, atomically. The path is used as given
    (no '.npz' is appended)."""
    arrays: dict[str, np.ndarray] = {}
    tree = _encode(obj, [], arrays)
    manifest = json.dumps({"format": FORMAT, "version": VERSION, "tree": tree})
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp",
                               dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            # what np.savez does, minus its keyword arguments (a key named 'file' would clash)
            with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
                for key, arr in {MANIFEST: np.asarray(manifest), **arrays}.items():
                    with zf.open(key + ".npy", "w", force_zip64=True) as member:
                        np.lib.format.write_array(member, arr, allow_pickle=False)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


# -- load ----------------------------------------------------------------------------------


def _decode(node: Any, arrays: Any, path: str) -> Any:
    kind = node["kind"]
    if kind == "dict":
        return {k: _decode(v, arrays, path) for k, v in node["items"]}
    if kind in ("list", "tuple"):
        items = [_decode(v, arrays, path) for v in node["items"]]
        return items if kind == "list" else tuple(items)
    if kind == "none":
        return None
    arr = arrays[node["key"]]
    if kind == "array":
        return arr
    if kind == "scalar":
        return arr[()]
    if kind in ("int", "float", "bool", "str"):
        return {"int": int, "float": float, "bool": bool, "str": str}[kind](arr[()])
    raise SerializationError(f"load: {path} has an unknown entry kind {kind!r} in its manifest")


def load(path: str | os.PathLike[str]) -> Any:
    """Read an object written by ``save``: arrays come back as NumPy arrays (see the module
    docstring). Raises FileNotFoundError for a missing file and ``SerializationError`` (a
    ValueError) for one that is empty, truncated, corrupt, or not written by ``save``."""
    path = os.fspath(path)
    with open(path, "rb") as f:
        head = f.read(4)
    if not head:
        raise SerializationError(f"load: {path} is empty")
    if head != b"PK\x03\x04":
        what = "a .npy array" if head == b"\x93NUM" else "not an .npz (zip) archive"
        raise SerializationError(f"load: {path} is not a tinygrad_sm checkpoint: it is {what}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            if MANIFEST not in npz.files:
                raise SerializationError(
                    f"load: {path} is an .npz archive but was not written by "
                    f"tinygrad_sm.save (no {MANIFEST!r} entry); read it with numpy.load"
                )
            manifest = json.loads(str(npz[MANIFEST][()]))
            if manifest.get("format") != FORMAT:
                raise SerializationError(f"load: {path} has an unknown format "
                                         f"{manifest.get('format')!r}")
            if manifest.get("version", 0) > VERSION:
                raise SerializationError(
                    f"load: {path} was written by a newer tinygrad_sm (format version "
                    f"{manifest['version']}; this one reads up to {VERSION})"
                )
            arrays = {k: npz[k] for k in npz.files if k != MANIFEST}  # reads (and CRC-checks)
            return _decode(manifest["tree"], arrays, path)
    except SerializationError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError, TypeError) as err:
        raise SerializationError(
            f"load: {path} is truncated, corrupt or not a valid checkpoint "
            f"({type(err).__name__}: {err})"
        ) from err

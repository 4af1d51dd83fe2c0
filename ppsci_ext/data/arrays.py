r"""Arrays and tables as data sets: ``.npy``, ``.npz`` and ``.csv`` files.

What :func:`load_array` reads, by the number of axes of the array:

- $N \times D$ (``.npy``, ``.npz`` or a ``.csv`` table): $N$ vectors of width $D$;
  a label column can be taken out of the table (``label_column``);
- $N \times H \times W$: $N$ one-channel images (read as $N \times 1 \times H \times W$);
- $N \times C \times H \times W$: $N$ images of $C$ channels.

Labels come from the table's label column, from a second array of an ``.npz``
(``label_key``, ``labels`` by default) or from a separate file (``label_path``:
``.npy``, or a one-column ``.csv`` / ``.txt``). Any label values (integers, strings)
are numbered $0, \dots, K-1$ in sorted order; the original values are kept in
``class_names`` so that samples can be written back with them.
"""

from __future__ import annotations

import csv
import os
import zipfile
from dataclasses import dataclass
from dataclasses import field
from typing import List
from typing import Optional
from typing import Tuple
from typing import Union

import numpy as np

__all__ = [
    "ARRAY_EXTENSIONS",
    "ArrayDataError",
    "ArrayData",
    "probe_kind",
    "check_finite",
    "encode_labels",
    "load_labels",
    "load_array",
]

#: File endings :func:`load_array` reads.
ARRAY_EXTENSIONS = (".npy", ".npz", ".csv")
_DATA_KEYS = ("x", "data", "images", "arr_0")


class ArrayDataError(ValueError):
    """An array or table that cannot be used as a data set; the message names the
    file, what is wrong and what to do."""


@dataclass
class ArrayData:
    """A data set read from an array or a table.

    Attributes:
        values (np.ndarray): Vectors ``[N, D]`` (float64) or images
            ``[N, C, H, W]`` (the file's dtype).
        kind (str): "vectors" or "images".
        layout (str): The file's layout: "ND", "NHW" or "NCHW".
        labels (Optional[np.ndarray]): int64 class indices ``[N]``, or None.
        class_names (Optional[list]): The original label value of each class.
        column_names (Optional[List[str]]): Header of the value columns (``.csv``
            with a header).
        label_column (Optional[int]): Where the label column was in the table.
        label_name (Optional[str]): Its header, if any.
        array_key (Optional[str]): The ``.npz`` key of the values.
        label_key (Optional[str]): The ``.npz`` key of the labels, if they came from it.
    """

    values: np.ndarray
    kind: str
    layout: str
    labels: Optional[np.ndarray] = None
    class_names: Optional[list] = None
    column_names: Optional[List[str]] = None
    label_column: Optional[int] = None
    label_name: Optional[str] = None
    array_key: Optional[str] = None
    label_key: Optional[str] = None
    notes: List[str] = field(default_factory=list)


def _extension(path: str) -> str:
    return os.path.splitext(path)[1].lower()


def _kind_of_ndim(ndim: int, source: str) -> str:
    if ndim == 2:
        return "vectors"
    if ndim in (3, 4):
        return "images"
    raise ArrayDataError(
        f"{source} has {ndim} axes: expected N x D (vectors), N x H x W or N x C x H x W (images)"
    )


def _npz_shapes(path: str) -> dict:
    """Shapes of the arrays of an ``.npz`` without reading them."""
    shapes = {}
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if not name.endswith(".npy"):
                continue
            with archive.open(name) as f:
                version = np.lib.format.read_magic(f)
                header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                          else np.lib.format.read_array_header_2_0)(f)
            shapes[name[: -len(".npy")]] = header[0]
    return shapes


def _pick_key(keys: List[str], array_key: Optional[str], label_key: Optional[str],
              source: str) -> str:
    if array_key is not None:
        if array_key not in keys:
            raise ArrayDataError(f"{source} has no array {array_key!r}; its arrays: {', '.join(keys)}")
        return array_key
    rest = [k for k in keys if k != label_key]
    if len(rest) == 1:
        return rest[0]
    for key in _DATA_KEYS:
        if key in rest:
            return key
    raise ArrayDataError(
        f"{source} holds several arrays ({', '.join(keys)}): name the data with "
        "DATA.array_key (and the labels with DATA.label_key)"
    )


def probe_kind(path: str, array_key: Optional[str] = None, label_key: str = "labels") -> str:
    """"images" or "vectors" for a data path, reading only headers: a folder holds
    images, a ``.csv`` vectors, an array by its number of axes.

    Examples:
        >>> import os, tempfile
        >>> import numpy as np
        >>> from ppsci_ext.data.arrays import probe_kind
        >>> path = os.path.join(tempfile.mkdtemp(), "x.npy")
        >>> np.save(path, np.zeros((5, 32, 32), np.uint8))
        >>> probe_kind(path)
        'images'
    """
    if os.path.isdir(path):
        return "images"
    ext = _extension(path)
    if ext not in ARRAY_EXTENSIONS:
        raise ArrayDataError(
            f"{path!r}: DATA.data_path must be a folder of images or a file ending in "
            f"{', '.join(ARRAY_EXTENSIONS)}"
        )
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path!r} does not exist")
    if ext == ".csv":
        return "vectors"
    try:
        if ext == ".npy":
            ndim = np.load(path, mmap_mode="r").ndim
        else:
            shapes = _npz_shapes(path)
            ndim = len(shapes[_pick_key(list(shapes), array_key, label_key, repr(path))])
    except (ValueError, OSError, zipfile.BadZipFile) as exc:
        if isinstance(exc, ArrayDataError):
            raise
        raise ArrayDataError(f"{path!r} cannot be read as a numpy {ext} file: {exc}") from exc
    return _kind_of_ndim(ndim, repr(path))


def check_finite(values: np.ndarray, source: str, what: str = "row") -> None:
    """Raise :class:`ArrayDataError` naming ``source``, the number of NaN / Inf values
    and where the first ones are.

    Examples:
        >>> import numpy as np
        >>> from ppsci_ext.data.arrays import check_finite
        >>> check_finite(np.array([[1.0, np.nan], [np.inf, 2.0]]), "'t.csv'")
        Traceback (most recent call last):
        ...
        ppsci_ext.data.arrays.ArrayDataError: 't.csv' holds 2 non-finite values (NaN, Inf or empty cells), in row 0 (column 1), row 1 (column 0): remove or fill them before training
    """
    if not np.issubdtype(values.dtype, np.floating):
        return
    bad = ~np.isfinite(values)
    count = int(bad.sum())
    if not count:
        return
    where = np.argwhere(bad)[:5]
    if values.ndim == 2:
        places = [f"{what} {r} (column {c})" for r, c in where]
    else:
        places = sorted({f"{what} {int(w[0])}" for w in where})
    more = ", ..." if count > len(where) else ""
    raise ArrayDataError(
        f"{source} holds {count} non-finite values (NaN, Inf or empty cells), in "
        f"{', '.join(places)}{more}: remove or fill them before training"
    )


def encode_labels(raw, source: str) -> Tuple[np.ndarray, list]:
    """Number the distinct label values $0, \\dots, K-1$ in sorted order.

    Returns:
        Tuple[np.ndarray, list]: int64 class indices and the value of each class
            (integral floats become ints).

    Examples:
        >>> from ppsci_ext.data.arrays import encode_labels
        >>> encode_labels(["b", "a", "b"], "t.csv")
        (array([1, 0, 1]), ['a', 'b'])
        >>> encode_labels([2.0, 7.0, 2.0], "y.npy")[1]
        [2, 7]
    """
    raw = np.asarray(raw)
    if raw.ndim == 2 and raw.shape[1] == 1:
        raw = raw[:, 0]
    if raw.ndim != 1:
        raise ArrayDataError(f"labels of {source} must be one value per sample, got shape {raw.shape}")
    if np.issubdtype(raw.dtype, np.floating):
        if not np.all(np.isfinite(raw)):
            raise ArrayDataError(
                f"labels of {source} hold {int((~np.isfinite(raw)).sum())} non-finite values"
            )
        if np.all(raw == np.round(raw)):
            raw = raw.astype(np.int64)
    names, labels = np.unique(raw, return_inverse=True)
    return labels.astype(np.int64).reshape(-1), [v.item() if hasattr(v, "item") else v for v in names]


def _read_csv(path: str) -> Tuple[Optional[List[str]], List[List[str]]]:
    with open(path, newline="") as f:
        rows = [row for row in csv.reader(f) if row and any(cell.strip() for cell in row)]
    if not rows:
        raise ArrayDataError(f"{path!r} is empty")

    def numeric(cell: str) -> bool:
        try:
            float(cell)
            return True
        except ValueError:
            return False

    # A header is a first row with a cell that is not a number (label columns may
    # hold text too, so one numeric row below it is required as well).
    first_is_text = not all(numeric(c) or not c.strip() for c in rows[0])
    header = [c.strip() for c in rows[0]] if first_is_text and len(rows) > 1 else None
    return header, rows[1:] if header is not None else rows


def _column_index(spec: Union[int, str], header: Optional[List[str]], width: int,
                  source: str) -> int:
    if isinstance(spec, str) and not spec.lstrip("-").isdigit():
        if header is None or spec not in header:
            have = f"its columns: {', '.join(header)}" if header else "it has no header row"
            raise ArrayDataError(f"DATA.label_column={spec!r} is not a column of {source}; {have}")
        return header.index(spec)
    index = int(spec)
    if not -width <= index < width:
        raise ArrayDataError(
            f"DATA.label_column={spec!r} is outside the {width} columns of {source}"
        )
    return index % width


def _table_from_csv(path: str, label_column):
    """``(values, value column names, label column index, its name, raw labels)``."""
    source = repr(path)
    header, rows = _read_csv(path)
    width = len(header) if header is not None else len(rows[0])
    offset = 2 if header is not None else 1  # 1-based line numbers for messages
    for i, row in enumerate(rows):
        if len(row) != width:
            raise ArrayDataError(
                f"{source}, line {i + offset}: {len(row)} cells, but the table has {width} columns"
            )
    label_index = None if label_column is None else _column_index(label_column, header, width, source)
    values = np.empty((len(rows), width - (label_index is not None)), np.float64)
    raw_labels = []
    for i, row in enumerate(rows):
        cells = list(row)
        if label_index is not None:
            raw_labels.append(cells.pop(label_index).strip())
        for j, cell in enumerate(cells):
            cell = cell.strip()
            try:
                values[i, j] = float(cell) if cell else np.nan
            except ValueError:
                column = j if label_index is None or j < label_index else j + 1
                name = f" ({header[column]!r})" if header else ""
                raise ArrayDataError(
                    f"{source}, line {i + offset}, column {column}{name}: {cell!r} is not a "
                    "number (set DATA.label_column if this column holds the labels)"
                ) from None
    if label_index is not None:
        numbers = []
        for cell in raw_labels:
            try:
                numbers.append(float(cell))
            except ValueError:
                numbers = None
                break
        raw_labels = numbers if numbers is not None else raw_labels
    names = label_name = None
    if header is not None:
        names = [h for k, h in enumerate(header) if k != label_index]
        label_name = header[label_index] if label_index is not None else None
    return values, names, label_index, label_name, (raw_labels if label_index is not None else None)


def load_labels(path: str, expected: int, source: str):
    """Labels of ``label_path`` (``.npy``, or a one-column ``.csv`` / ``.txt`` with an
    optional header), checked to number ``expected``."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"DATA.label_path={path!r} does not exist")
    if _extension(path) == ".npy":
        try:
            raw = np.load(path, allow_pickle=False)
        except ValueError as exc:
            raise ArrayDataError(f"DATA.label_path={path!r}: {exc}") from exc
    else:
        header, rows = _read_csv(path)
        if any(len(r) != 1 for r in rows):
            raise ArrayDataError(f"DATA.label_path={path!r} must have one column")
        raw = [r[0].strip() for r in rows]
        try:
            raw = [float(v) for v in raw]
        except ValueError:
            pass
    raw = np.asarray(raw)
    if len(raw) != expected:
        raise ArrayDataError(
            f"DATA.label_path={path!r} has {len(raw)} labels but {source} has {expected} samples"
        )
    return raw


def load_array(
    path: str,
    label_path: Optional[str] = None,
    label_column: Union[None, int, str] = None,
    array_key: Optional[str] = None,
    label_key: str = "labels",
) -> ArrayData:
    """Read a ``.npy``, ``.npz`` or ``.csv`` data set (see the module docstring).

    Args:
        path (str): The file.
        label_path (Optional[str]): A separate file of labels. Defaults to None.
        label_column (Union[None, int, str]): Column of a table that holds the labels:
            its index (negative counts from the end) or header name. Defaults to None.
        array_key (Optional[str]): The data's key in an ``.npz``; None takes the only
            array besides the labels. Defaults to None.
        label_key (str): The labels' key in an ``.npz``. Defaults to "labels".

    Returns:
        ArrayData: Values, kind, layout and labels.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ArrayDataError: An unreadable file, a shape that is neither vectors nor
            images, non-finite values (with their count and place), labels whose
            count does not match, an empty table.

    Examples:
        >>> import os, tempfile
        >>> import numpy as np
        >>> from ppsci_ext.data.arrays import load_array
        >>> path = os.path.join(tempfile.mkdtemp(), "t.csv")
        >>> with open(path, "w") as f:
        ...     _ = f.write("a,b,kind\\n1,2,x\\n3,4,y\\n5,6,x\\n")
        >>> data = load_array(path, label_column="kind")
        >>> data.values.tolist(), data.labels.tolist(), data.class_names, data.column_names
        ([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], [0, 1, 0], ['x', 'y'], ['a', 'b'])
    """
    source = repr(path)
    kind = probe_kind(path, array_key, label_key)  # checks the extension and existence
    ext = _extension(path)
    data_key = used_label_key = None
    raw_labels = None
    column_names = label_index = label_name = None
    if ext == ".csv":
        values, column_names, label_index, label_name, raw_labels = _table_from_csv(path, label_column)
    else:
        try:
            loaded = np.load(path, allow_pickle=False)
            if ext == ".npz":
                keys = list(loaded.files)
                data_key = _pick_key(keys, array_key, label_key, source)
                values = loaded[data_key]
                if label_key in keys and label_key != data_key:
                    raw_labels, used_label_key = loaded[label_key], label_key
            else:
                values = loaded
        except ValueError as exc:
            if isinstance(exc, ArrayDataError):
                raise
            raise ArrayDataError(f"{source} cannot be read as a numeric array: {exc}") from exc
        if values.dtype.kind not in "uif" and values.dtype != np.bool_:
            raise ArrayDataError(f"{source} holds {values.dtype} values; numbers are needed")
        if label_column is not None:
            if values.ndim != 2:
                raise ArrayDataError(
                    f"DATA.label_column is for tables (N x D); {source} has shape {values.shape}"
                )
            index = _column_index(label_column, None, values.shape[1], source)
            raw_labels = values[:, index]
            values = np.delete(values, index, axis=1)
            label_index = index
    if len(values) == 0:
        raise ArrayDataError(f"{source} holds no samples")
    if label_path:
        if raw_labels is not None:
            raise ArrayDataError(
                f"{source} has labels already ({'DATA.label_column' if label_index is not None else label_key!r}); "
                "DATA.label_path would give a second set: set one of them"
            )
        raw_labels = load_labels(label_path, len(values), source)
    layout = {2: "ND", 3: "NHW", 4: "NCHW"}[values.ndim]
    if kind == "vectors":
        values = values.astype(np.float64)
        if values.shape[1] < 1:
            raise ArrayDataError(f"{source} has no value columns left besides the labels")
    elif values.ndim == 3:
        values = values[:, None]
    elif values.shape[1] == values.shape[2] != values.shape[3] and values.shape[3] <= 4:
        raise ArrayDataError(
            f"{source} has shape {values.shape}, which looks like N x H x W x C; save it as "
            "N x C x H x W (numpy.transpose(x, (0, 3, 1, 2)))"
        )
    if values.dtype == np.bool_:
        values = values.astype(np.uint8)
    check_finite(values, source, "row" if kind == "vectors" else "image")
    data = ArrayData(values=values, kind=kind, layout=layout, column_names=column_names,
                     label_column=label_index, label_name=label_name, array_key=data_key)
    if raw_labels is not None:
        if len(raw_labels) != len(values):
            raise ArrayDataError(
                f"{source}: {len(raw_labels)} labels for {len(values)} samples"
            )
        labels, names = encode_labels(raw_labels, source)
        data.label_key = used_label_key
        if len(names) > 1:
            data.labels, data.class_names = labels, names
        else:
            data.notes.append(f"the labels of {source} hold one class only: read as unlabelled")
    return data

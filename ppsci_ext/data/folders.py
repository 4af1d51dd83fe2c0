r"""A folder of image files as one array, with labels from its subfolders.

Layouts read by :func:`load_image_folder`:

- ``folder/*.png`` (or ``.jpg``, ``.jpeg``): unlabelled images;
- ``folder/<class>/*.png``: one subfolder per class, labelled $0, \dots, K-1$ in
  the sorted order of the subfolder names.

Grey images (Pillow modes ``1``, ``L``, ``LA``) give one channel, colour images
(``RGB``, ``RGBA``, ``P``, ...) three, alpha dropped; a folder that mixes them is read
as colour. 16-bit grey PNG files (``I;16``) stay 16-bit. Images are returned as
``uint8`` (or ``uint16``) ``[N, C, H, W]``; all of them must have one size, or be
resized on loading with ``size``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Dict
from typing import List
from typing import Optional
from typing import Tuple

import numpy as np

__all__ = ["IMAGE_EXTENSIONS", "ImageFolderError", "ImageFolder", "image_files", "load_image_folder"]

#: File name endings read as images (case does not matter).
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
_GREY_8BIT = ("1", "L", "LA")
_GREY_16BIT = ("I;16", "I;16L", "I;16B", "I;16N", "I")


class ImageFolderError(ValueError):
    """A folder that cannot be read as a data set; the message names the files."""


@dataclass
class ImageFolder:
    """Images of a folder.

    Attributes:
        images (np.ndarray): ``uint8`` or ``uint16`` ``[N, C, H, W]``, C = 1 or 3.
        labels (Optional[np.ndarray]): int64 ``[N]`` class indices, or None.
        class_names (Optional[List[str]]): Subfolder name of each class, or None.
        files (List[str]): Path of each image, relative to the folder.
    """

    images: np.ndarray
    labels: Optional[np.ndarray]
    class_names: Optional[List[str]]
    files: List[str]


def _is_image(name: str) -> bool:
    return not name.startswith(".") and name.lower().endswith(IMAGE_EXTENSIONS)


def image_files(folder: str) -> Tuple[List[str], Optional[List[str]], Optional[List[int]]]:
    """The image files of ``folder`` (relative paths, sorted), and for the
    subfolder layout the class names and each file's class index.

    Raises:
        FileNotFoundError: ``folder`` is not a folder.
        ImageFolderError: No images, or images both at the top and in subfolders.

    Examples:
        >>> import os, tempfile
        >>> from ppsci_ext.data.folders import image_files
        >>> root = tempfile.mkdtemp()
        >>> for name in ("b/2.png", "a/1.png", "a/0.jpg", "notes.txt"):
        ...     os.makedirs(os.path.dirname(os.path.join(root, name)), exist_ok=True)
        ...     open(os.path.join(root, name), "w").close()
        >>> image_files(root)
        (['a/0.jpg', 'a/1.png', 'b/2.png'], ['a', 'b'], [0, 0, 1])
    """
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"{folder!r} is not a folder")
    entries = sorted(e for e in os.listdir(folder) if not e.startswith("."))
    top = [e for e in entries if _is_image(e) and os.path.isfile(os.path.join(folder, e))]
    classes: Dict[str, List[str]] = {}
    for entry in entries:
        path = os.path.join(folder, entry)
        if os.path.isdir(path):
            found = sorted(f for f in os.listdir(path) if _is_image(f))
            if found:
                classes[entry] = [f"{entry}/{f}" for f in found]
    if top and classes:
        raise ImageFolderError(
            f"{folder!r} has images at its top level ({len(top)}, e.g. {top[0]!r}) and in "
            f"subfolders ({', '.join(list(classes)[:5])}): put every image in a class "
            "subfolder (labelled data) or every image at the top level (no labels)"
        )
    if not top and not classes:
        raise ImageFolderError(
            f"{folder!r} holds no images: expected files ending in "
            f"{', '.join(IMAGE_EXTENSIONS)} at its top level, or in one subfolder per class"
        )
    if top:
        return top, None, None
    names = list(classes)
    files = [f for name in names for f in classes[name]]
    labels = [k for k, name in enumerate(names) for _ in classes[name]]
    return files, names, labels


def _read(path: str):
    from PIL import Image
    from PIL import UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.load()
            return image.copy()
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ImageFolderError(f"{path!r} cannot be read as an image: {exc}") from exc


def _size_report(sizes: Dict[Tuple[int, int], List[str]]) -> str:
    parts = [f"{w} x {h} ({len(files)} file{'s' if len(files) > 1 else ''}, e.g. {files[0]!r})"
             for (w, h), files in sorted(sizes.items(), key=lambda kv: -len(kv[1]))]
    return "; ".join(parts[:5]) + ("; ..." if len(parts) > 5 else "")


def load_image_folder(folder: str, size: Optional[int] = None) -> ImageFolder:
    """Read every image of ``folder`` (see the module docstring for the layouts).

    Args:
        folder (str): The folder.
        size (Optional[int]): Resize every image to ``size`` x ``size`` (bicubic)
            on loading. Defaults to None: all images must already have one size.

    Returns:
        ImageFolder: The images, labels, class names and files.

    Raises:
        FileNotFoundError: ``folder`` is not a folder.
        ImageFolderError: No images; images at the top and in subfolders; a file
            that is not an image; images of mixed sizes (with the sizes found and a
            file of each) or of mixed bit depths.

    Examples:
        >>> import os, tempfile
        >>> import numpy as np
        >>> from PIL import Image
        >>> from ppsci_ext.data.folders import load_image_folder
        >>> root = tempfile.mkdtemp()
        >>> for k in range(3):
        ...     Image.fromarray(np.full((32, 32), 40 * k, np.uint8)).save(f"{root}/{k}.png")
        >>> data = load_image_folder(root)
        >>> data.images.shape, data.images.dtype, data.labels
        ((3, 1, 32, 32), dtype('uint8'), None)
    """
    files, class_names, labels = image_files(folder)
    if class_names is not None and len(class_names) == 1:
        # one class carries no information: read as unlabelled
        class_names, labels = None, None
    images = [_read(os.path.join(folder, f)) for f in files]
    modes = {image.mode for image in images}
    sixteen = [f for f, image in zip(files, images) if image.mode in _GREY_16BIT]
    if sixteen and len(sixteen) != len(files):
        other = next(f for f, image in zip(files, images) if image.mode not in _GREY_16BIT)
        raise ImageFolderError(
            f"{folder!r} mixes 16-bit grey images (e.g. {sixteen[0]!r}) with 8-bit ones "
            f"(e.g. {other!r}): convert them to one bit depth"
        )
    grey = modes <= set(_GREY_8BIT) | set(_GREY_16BIT)
    if size is None:
        sizes: Dict[Tuple[int, int], List[str]] = {}
        for f, image in zip(files, images):
            sizes.setdefault(image.size, []).append(f)
        if len(sizes) > 1:
            raise ImageFolderError(
                f"{folder!r} holds images of mixed sizes: {_size_report(sizes)}. Resize them to "
                "one size, or set DATA.image_size (32 or 64) to resize them on loading"
            )
    arrays = []
    for image in images:
        if sixteen:
            array = np.asarray(image, dtype=np.int64)
            if size is not None:
                from PIL import Image

                array = np.asarray(Image.fromarray(array.astype(np.float32)).resize(
                    (size, size), Image.BICUBIC))
            arrays.append(np.clip(np.rint(array), 0, 65535).astype(np.uint16)[None])
            continue
        image = image.convert("L" if grey else "RGB")
        if size is not None and image.size != (size, size):
            from PIL import Image

            image = image.resize((size, size), Image.BICUBIC)
        array = np.asarray(image, dtype=np.uint8)
        arrays.append(array[None] if grey else array.transpose(2, 0, 1))
    return ImageFolder(
        images=np.stack(arrays),
        labels=None if labels is None else np.asarray(labels, dtype=np.int64),
        class_names=class_names,
        files=files,
    )

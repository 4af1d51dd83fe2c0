"""Write data sets that scikit-learn ships (no download) in the forms
``wgangp_custom.py`` reads, for the worked example of docs/custom_data.md.

    python examples/wgangp/prepare_sklearn_data.py --out data/
    # data/breast_cancer.csv  569 rows: 30 measurements of cell nuclei + diagnosis
    # data/wine.csv           178 rows: 13 chemical measurements + cultivar
    # data/digits_32.npz      1797 handwritten digits, 8 x 8 upsampled to 32 x 32, uint8, + labels

- breast_cancer: the Wisconsin Diagnostic Breast Cancer table (Street, Wolberg and
  Mangasarian 1993): 30 features computed from digitised images of fine-needle
  aspirates; label column ``diagnosis`` (malignant / benign).
- wine: chemical analysis of wines from three cultivars (Forina et al.); label column
  ``cultivar``.
- digits: the UCI optical recognition of handwritten digits (8 x 8, 17 grey levels),
  upsampled bicubically to 32 x 32 and stretched to 0..255 so that the ResNets take
  them; labels 0-9 in the ``labels`` array.
"""

import argparse
import csv
import os

import numpy as np


def write_table(path: str, bunch, label_name: str) -> None:
    names = [str(n) for n in bunch.target_names]
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([str(c).replace(" ", "_") for c in bunch.feature_names] + [label_name])
        for row, target in zip(bunch.data, bunch.target):
            writer.writerow([repr(float(v)) for v in row] + [names[target]])


def write_digits(path: str, size: int = 32) -> None:
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = np.empty((len(digits.images), size, size), np.uint8)
    for i, image in enumerate(digits.images):  # grey levels 0..16
        big = Image.fromarray((image * (255.0 / 16.0)).astype(np.float32)).resize((size, size), Image.BICUBIC)
        images[i] = np.clip(np.rint(np.asarray(big)), 0, 255)
    np.savez_compressed(path, x=images, labels=digits.target.astype(np.int64))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="data", help="folder to write into (default: data)")
    parser.add_argument("--only", choices=("breast_cancer", "wine", "digits"), default=None,
                        help="write one data set only")
    args = parser.parse_args(argv)
    from sklearn.datasets import load_breast_cancer
    from sklearn.datasets import load_wine

    os.makedirs(args.out, exist_ok=True)
    jobs = {
        "breast_cancer": lambda p: write_table(p, load_breast_cancer(), "diagnosis"),
        "wine": lambda p: write_table(p, load_wine(), "cultivar"),
        "digits": write_digits,
    }
    files = {"breast_cancer": "breast_cancer.csv", "wine": "wine.csv", "digits": "digits_32.npz"}
    for name, job in jobs.items():
        if args.only in (None, name):
            path = os.path.join(args.out, files[name])
            job(path)
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

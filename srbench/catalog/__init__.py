"""Datasets: the catalog (``datasets.yaml``, parsed and validated by ``schema``), installing a
set into the cache (``install``: download, extract, verify), the built-in offline ``sample``, and
``resolve``, which turns a command-line token (a catalog name, a folder, ``sample``) into images,
and ``identity``, which proves by pixel digests whether a folder holds a catalog set's images."""

from srbench.catalog.install import dataset_dir, ensure_dataset
from srbench.catalog.resolve import Dataset, expand_datasets, resolve_dataset
from srbench.catalog.sample import SAMPLE_IMAGES, sample_images, write_sample
from srbench.catalog.schema import DatasetSpec, Source, load_catalog, pixel_digest, verify_images

__all__ = [
    "SAMPLE_IMAGES",
    "Dataset",
    "DatasetSpec",
    "Source",
    "dataset_dir",
    "ensure_dataset",
    "expand_datasets",
    "load_catalog",
    "pixel_digest",
    "resolve_dataset",
    "sample_images",
    "verify_images",
    "write_sample",
]

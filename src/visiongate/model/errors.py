"""Errors of datasets, training and evaluation.

    VisiongateError
    └── ModelAreaError                 anything this package reports
        ├── DatasetError               the data cannot be used as given
        │   ├── LayoutNotRecognized    no manifest, no class folders, nothing we can read
        │   ├── ManifestError          a .lst line that is not ``index<TAB>label<TAB>path``
        │   ├── MissingImages          files the manifest lists are absent
        │   ├── UnknownClass           a class name the data does not define
        │   ├── SingleClass            fewer than two classes to learn from
        │   └── EmptyDataset           no usable image at all
        ├── ArchiveError               the CIFAR archive is unreadable or not the expected format
        │   └── UnsafePickle           the archive's pickle names something we do not load
        ├── DownloadError              the archive cannot be fetched (offline, HTTP error)
        └── TrainingError              bad hyperparameters, or training diverged

Every error has a message (what was wrong) and a hint (what to do); the CLI prints both
on one line each, never a traceback.
"""

from __future__ import annotations

from visiongate.errors import VisiongateError


class ModelAreaError(VisiongateError):
    """Base of every dataset, training and evaluation error."""


class DatasetError(ModelAreaError):
    """The data cannot be used as given."""


class LayoutNotRecognized(DatasetError):
    """Neither a ``<name>.lst`` manifest, an explicit manifest, nor one folder per class."""


class ManifestError(DatasetError):
    """A manifest line is malformed (fields, label, or a path that escapes its folder)."""


class MissingImages(DatasetError):
    """The manifest lists files that do not exist."""


class UnknownClass(DatasetError):
    """A class name was asked for that the data does not define."""


class SingleClass(DatasetError):
    """Training needs at least two classes."""


class EmptyDataset(DatasetError):
    """No usable image was found."""


class ArchiveError(ModelAreaError):
    """The CIFAR-100 archive cannot be read or is not in the python-pickle format."""


class UnsafePickle(ArchiveError):
    """The pickle references a callable outside the small allow-list needed for arrays."""


class DownloadError(ModelAreaError):
    """The dataset archive could not be downloaded."""


class TrainingError(ModelAreaError):
    """Hyperparameters are invalid, or training produced a model we will not write."""

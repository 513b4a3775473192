"""Load a dataset into memory: decoded once, preprocessed by :mod:`visiongate.imaging`.

A few thousand small images fit in memory as one uint8 array, so training decodes every
file exactly once and augments tensors afterwards. Decoding goes through
``visiongate.imaging`` (``decode_image`` then ``pixels``), the same code the model server
runs, so the model sees in production exactly what it saw in training.

Untrusted files: a corrupt, truncated or unreadable image is *reported* (file and reason,
in :attr:`Dataset.skipped` and as a warning on the console) and skipped, never silently.
Files a manifest lists that do not exist are an error (:class:`MissingImages`): a
manifest that disagrees with its folder is a broken dataset, not a few bad images.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from visiongate.imaging import ImageError, Preprocessing, decode_image, pixels
from visiongate.model.errors import EmptyDataset, MissingImages, SingleClass, UnknownClass
from visiongate.model.layouts import Entry, Layout, open_layout

try:  # one formula for drift statistics, owned by the monitoring area
    from visiongate.monitor.stats import image_stats
except ImportError:  # pragma: no cover - the monitor package is optional here
    image_stats = None

MAX_LISTED = 5  # missing/unknown names quoted in a message before "and N more"


@dataclass(frozen=True)
class Skipped:
    """An image that could not be used, and why."""

    file: str
    reason: str


@dataclass
class Dataset:
    """Decoded images (uint8 N×H×W×C), their labels and where they came from."""

    images: np.ndarray
    labels: np.ndarray
    classes: list[str]
    files: list[str]
    source: str
    layout: str
    fingerprint: str
    skipped: list[Skipped] = field(default_factory=list)
    stats: dict[str, np.ndarray] = field(default_factory=dict)  # per image, see monitor.stats

    def __len__(self) -> int:
        return len(self.labels)

    def counts(self) -> dict[str, int]:
        found = np.bincount(self.labels, minlength=len(self.classes))
        return {name: int(n) for name, n in zip(self.classes, found, strict=True)}

    def subset(self, index: np.ndarray) -> Dataset:
        return Dataset(
            images=self.images[index],
            labels=self.labels[index],
            classes=self.classes,
            files=[self.files[i] for i in index],
            source=self.source,
            layout=self.layout,
            fingerprint=self.fingerprint,
            skipped=[],
            stats={k: v[index] for k, v in self.stats.items()},
        )

    def summary(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "layout": self.layout,
            "n": len(self),
            "classes": self.counts(),
            "skipped": [{"file": s.file, "reason": s.reason} for s in self.skipped[:100]],
            "fingerprint": self.fingerprint,
        }


def _listing(items: Sequence[str]) -> str:
    shown = ", ".join(items[:MAX_LISTED])
    return shown + (f" and {len(items) - MAX_LISTED} more" if len(items) > MAX_LISTED else "")


def select_classes(
    layout: Layout, requested: Sequence[str] | None, strict: bool = False
) -> tuple[list[str], dict[int, int]]:
    """Class names and the map from the layout's label numbers to their new indices.

    ``requested`` picks classes by name (in that order) when the layout names them, or names
    the label numbers 0, 1, ... when it does not. ``strict`` (evaluation) means every class in
    the data must be among ``requested`` — the model's classes — instead of dropping the rest.
    """
    labels = sorted({e.label for e in layout.entries})
    names = layout.names
    if names is not None and labels and labels[-1] >= len(names):
        raise UnknownClass(
            f"{layout.source} uses label {labels[-1]} but classes.json names only {len(names)} classes",
            hint="add the missing names to classes.json",
        )
    if requested is None:
        names = names or [str(i) for i in range(labels[-1] + 1 if labels else 0)]
        return list(names), {i: i for i in range(len(names))}
    requested = [str(r).strip() for r in requested]
    if len(set(requested)) != len(requested) or not all(requested):
        raise UnknownClass(
            f"class list {requested} is empty or repeats a name", hint="name each class once"
        )
    if names is None:
        if strict:  # the data's label numbers index the model's classes
            too_big = [str(i) for i in labels if i >= len(requested)]
            if too_big:
                raise UnknownClass(
                    f"the data uses label {_listing(too_big)} but the model has only "
                    f"{len(requested)} classes ({', '.join(requested)})",
                    hint="evaluate on data labelled for this model, or add a classes.json",
                )
            return requested, {i: i for i in range(len(requested))}
        if all(r.isdigit() for r in requested) and set(map(int, requested)) <= set(labels):
            return requested, {int(r): k for k, r in enumerate(requested)}
        if labels and len(requested) != labels[-1] + 1:
            raise UnknownClass(
                f"--classes names {len(requested)} classes but {layout.source} has labels 0..{labels[-1]}",
                hint="give one name per label number, in label order (or add a classes.json)",
            )
        return requested, {i: i for i in range(len(requested))}
    if strict:
        unknown = [n for i, n in enumerate(names) if i in labels and n not in requested]
        if unknown:
            raise UnknownClass(
                f"the data has class {_listing(unknown)} which the model does not know "
                f"(it knows {', '.join(requested)})",
                hint="evaluate on images of the model's classes only",
            )
    else:
        unknown = [r for r in requested if r not in names]
        if unknown:
            raise UnknownClass(
                f"class {_listing(unknown)} is not in {layout.source} (it has {', '.join(names)})",
                hint="use the names in classes.json or the class folders' names",
            )
    mapping = {names.index(r): k for k, r in enumerate(requested) if r in names}
    return requested, mapping


def _stats_of(image) -> dict[str, float]:  # noqa: ANN001 - PIL image
    if image_stats is not None:
        return image_stats(image)
    gray = np.asarray(image.convert("L"), dtype=np.float64)
    return {
        "brightness": float(gray.mean()),
        "contrast": float(gray.std()),
        "width": float(image.size[0]),
        "height": float(image.size[1]),
    }


def decode_entries(
    layout: Layout,
    entries: list[tuple[Entry, int]],
    prep: Preprocessing,
    console=None,  # noqa: ANN001 - rich Console
) -> tuple[list[np.ndarray], list[int], list[str], list[Skipped], list[dict], str]:
    """Decode each (entry, new label); report and skip bad images; hash everything read."""
    from rich.progress import Progress

    arrays, labels, files, skipped, stats = [], [], [], [], []
    digest = hashlib.sha256()
    with Progress(console=console, transient=True, disable=console is None) as progress:
        task = progress.add_task("decoding images", total=len(entries))
        for entry, label in entries:
            rel = "/".join(p for p in (layout.image_prefix, entry.path) if p)
            try:
                data = layout.images.read(rel)
                digest.update(f"{rel}\t{label}\t".encode() + hashlib.sha256(data).digest())
                image = decode_image(data)
                array = pixels(image, prep)
                arrays.append(array[:, :, None] if array.ndim == 2 else array)
                stats.append(_stats_of(image))
                labels.append(label)
                files.append(rel)
            except (ImageError, OSError) as exc:
                reason = exc.message if isinstance(exc, ImageError) else f"unreadable: {exc}"
                skipped.append(Skipped(layout.images.describe(rel), reason))
                if console is not None:
                    console.print(
                        f"[yellow]warning:[/] skipped {layout.images.describe(rel)}: {reason}",
                        soft_wrap=True,  # keep the path whole for copy-paste and grep
                    )
            progress.advance(task)
    return arrays, labels, files, skipped, stats, digest.hexdigest()


def load_dataset(
    data: str | Path | None = None,
    *,
    manifest: str | Path | None = None,
    images: str | Path | None = None,
    classes: Sequence[str] | None = None,
    prep: Preprocessing | None = None,
    channels: tuple[str, ...] = ("train",),
    min_classes: int = 2,
    strict_classes: bool = False,
    settings=None,  # noqa: ANN001 - Settings
    console=None,  # noqa: ANN001 - rich Console: progress and warnings go there when given
) -> Dataset:
    """Find, check and decode a dataset in any supported layout (see :mod:`.layouts`)."""
    prep = prep or Preprocessing()
    layout = open_layout(
        data, manifest=manifest, images=images, channels=channels, settings=settings
    )
    names, mapping = select_classes(layout, classes, strict=strict_classes)
    chosen = [(e, mapping[e.label]) for e in layout.entries if e.label in mapping]

    available = set(layout.images.files())
    missing = [
        e.path
        for e, _ in chosen
        if "/".join(p for p in (layout.image_prefix, e.path) if p) not in available
    ]
    if missing:
        raise MissingImages(
            f"{len(missing)} of {len(chosen)} files listed in {layout.source} are missing "
            f"from {layout.images.describe(layout.image_prefix)}: {_listing(missing)}",
            hint="fix the manifest or restore the files",
        )
    if not chosen:
        raise EmptyDataset(
            f"{layout.source} names no image"
            + (f" of class {', '.join(names)}" if classes else ""),
            hint="check the path and the class names",
        )
    arrays, labels, files, skipped, stats, digest = decode_entries(layout, chosen, prep, console)
    if not arrays:
        raise EmptyDataset(
            f"none of the {len(chosen)} images in {layout.source} could be decoded "
            f"(first: {skipped[0].file}: {skipped[0].reason})",
            hint="check that the files are PNG or JPEG images",
        )
    present = sorted(set(labels))
    if len(present) < min_classes:
        only = ", ".join(names[i] for i in present)
        raise SingleClass(
            f"{layout.source} has images of {len(present)} class ({only}); training needs at least {min_classes}",
            hint="add images of another class, or check --classes",
        )
    return Dataset(
        images=np.stack(arrays),
        labels=np.asarray(labels, dtype=np.int64),
        classes=names,
        files=files,
        source=layout.source,
        layout=layout.kind,
        fingerprint=f"sha256:{digest}",
        skipped=skipped,
        stats={k: np.asarray([s[k] for s in stats], dtype=np.float64) for k in stats[0]},
    )

"""``visiongate store``: list, upload, download and delete objects in the configured store.

A thin layer over ``visiongate.storage``: ``s3://bucket/key`` names a place in the store
the settings select (the local folder by default, S3 when ``store.backend = "s3"``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from visiongate.cli.common import console, settings
from visiongate.errors import VisiongateError
from visiongate.storage import (
    iter_objects,
    open_store,
    parse_uri,
    validate_bucket,
    validate_key,
)

store_app = typer.Typer(
    help=(
        "List, upload, download and delete objects in the configured object store "
        "(a local folder by default, S3 when store.backend is s3).\n\n"
        "Example: visiongate store ls s3://images/cats/"
    ),
    no_args_is_help=True,
)


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover - the loop always returns


@store_app.command("ls")
def ls(
    ctx: typer.Context,
    uri: str = typer.Argument(..., help="s3://bucket/prefix to list (prefix optional)."),
) -> None:
    """List the objects under a prefix, in key order.

    Example: visiongate store ls s3://images/cats/
    """
    from rich.table import Table

    place = parse_uri(uri)
    store = open_store(settings(ctx))
    table = Table(box=None, header_style="bold")
    table.add_column("key", overflow="fold")
    table.add_column("size", justify="right")
    table.add_column("type")
    table.add_column("last modified (UTC)")
    count = total = 0
    for info in iter_objects(store, place.bucket, place.key):
        table.add_row(
            info.key,
            _human(info.size),
            info.content_type,
            info.last_modified.strftime("%Y-%m-%d %H:%M:%S"),
        )
        count += 1
        total += info.size
    if count:
        console.print(table)
    console.print(f"{count} object{'s' if count != 1 else ''}, {_human(total)} under {place}")


@store_app.command("put")
def put(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="Local file to upload.", dir_okay=False),
    uri: str = typer.Argument(..., help="s3://bucket/key (a prefix ending in / keeps the name)."),
    content_type: str = typer.Option(
        None, "--content-type", help="Content type to record (default: sniffed from the bytes)."
    ),
) -> None:
    """Upload a file as an object.

    Example: visiongate store put cat.png s3://images/cats/cat.png
    """
    place = parse_uri(uri)
    key = place.key + file.name if place.key == "" or place.key.endswith("/") else place.key
    validate_key(key)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise VisiongateError(
            f"cannot read {file}: {exc.strerror}", hint="check the path"
        ) from None
    info = open_store(settings(ctx)).put(place.bucket, key, data, content_type=content_type)
    console.print(
        f"uploaded {file} to s3://{place.bucket}/{key} ({_human(info.size)}, {info.content_type})",
        highlight=False,
    )


@store_app.command("get")
def get(
    ctx: typer.Context,
    uri: str = typer.Argument(..., help="s3://bucket/key of the object."),
    file: str = typer.Argument(
        None, help="Where to write it (default: the key's file name here; '-' for stdout)."
    ),
) -> None:
    """Download an object to a file (or to stdout with '-').

    Example: visiongate store get s3://images/cats/cat.png cat.png
    """
    place = parse_uri(uri)
    key = validate_key(place.key)
    data = open_store(settings(ctx)).get(place.bucket, key)
    if file == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    target = Path(file) if file else Path(key.rsplit("/", 1)[-1])
    if target.is_dir():
        target = target / key.rsplit("/", 1)[-1]
    try:
        target.write_bytes(data)
    except OSError as exc:
        raise VisiongateError(
            f"cannot write {target}: {exc.strerror}", hint="check the path"
        ) from None
    console.print(f"downloaded {place} to {target} ({_human(len(data))})", highlight=False)


@store_app.command("mb")
def mb(
    ctx: typer.Context,
    bucket: str = typer.Argument(..., help="Bucket name (or s3://bucket)."),
) -> None:
    """Make a bucket (no error if it already exists).

    Example: visiongate store mb images
    """
    name = parse_uri(bucket).bucket if bucket.startswith("s3://") else validate_bucket(bucket)
    open_store(settings(ctx)).create_bucket(name)
    console.print(f"bucket s3://{name}/ is ready", highlight=False)


@store_app.command("rm")
def rm(
    ctx: typer.Context,
    uri: str = typer.Argument(..., help="s3://bucket/key of the object to delete."),
) -> None:
    """Delete an object (like S3, deleting a missing key is not an error).

    Example: visiongate store rm s3://images/cats/cat.png
    """
    place = parse_uri(uri)
    key = validate_key(place.key)
    open_store(settings(ctx)).delete(place.bucket, key)
    console.print(f"deleted {place}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add the ``store`` group to ``app``."""
    app.add_typer(store_app, name="store")

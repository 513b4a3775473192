"""`visiongate store ...`: thin commands over the store; failures are one clean message."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.storage.images import png
from visiongate.cli.main import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.out, captured.err


@pytest.fixture
def cat(tmp_path: Path) -> Path:
    path = tmp_path / "cat.png"
    path.write_bytes(png(3, 3))
    return path


def test_mb_put_ls_get_rm(capsys, cat: Path, tmp_path: Path) -> None:
    assert run(capsys, "store", "mb", "images")[0] == 0
    code, out, _ = run(capsys, "store", "put", str(cat), "s3://images/cats/cat.png")
    assert code == 0 and "uploaded" in out and "image/png" in out

    code, out, _ = run(capsys, "store", "ls", "s3://images/cats/")
    assert code == 0
    assert "cats/cat.png" in out and "image/png" in out and "1 object" in out

    target = tmp_path / "copy.png"
    assert run(capsys, "store", "get", "s3://images/cats/cat.png", str(target))[0] == 0
    assert target.read_bytes() == cat.read_bytes()

    assert run(capsys, "store", "rm", "s3://images/cats/cat.png")[0] == 0
    assert "0 objects" in run(capsys, "store", "ls", "s3://images/")[1]


def test_put_to_a_prefix_keeps_the_file_name(capsys, cat: Path) -> None:
    run(capsys, "store", "mb", "s3://images")
    run(capsys, "store", "put", str(cat), "s3://images/uploads/")
    assert "uploads/cat.png" in run(capsys, "store", "ls", "s3://images/uploads/")[1]


def test_get_to_stdout_and_to_a_folder(capsys, tmp_path: Path) -> None:
    note = tmp_path / "note.txt"
    note.write_text("hello store")
    run(capsys, "store", "mb", "docs")
    run(capsys, "store", "put", str(note), "s3://docs/a/note.txt")
    assert run(capsys, "store", "get", "s3://docs/a/note.txt", "-")[1] == "hello store"
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    run(capsys, "store", "get", "s3://docs/a/note.txt", str(out_dir))
    assert (out_dir / "note.txt").read_text() == "hello store"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("store", "get", "s3://images/missing.png"), "s3://images/missing.png does not exist"),
        (("store", "ls", "s3://no-such-bucket/"), "bucket 'no-such-bucket' does not exist"),
        (("store", "ls", "images/cats"), "is not an s3://bucket/prefix URI"),
        (("store", "rm", "s3://images/../x"), "'..' segment"),
        (
            ("store", "put", "/no/such/file.png", "s3://images/x.png"),
            "cannot read /no/such/file.png",
        ),
        (("store", "mb", "Bad_Name"), "bucket name 'Bad_Name' is invalid"),
        (("store", "get", "s3://images/"), "not a non-empty string"),
    ],
)
def test_failures_are_one_clean_message(capsys, args: tuple[str, ...], message: str) -> None:
    run(capsys, "store", "mb", "images")
    code, _, err = run(capsys, *args)
    assert code == 2
    assert message in " ".join(err.split())
    assert "Traceback" not in err


def test_the_commands_work_against_s3(
    capsys, cat: Path, moto_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VISIONGATE_STORE_BACKEND", "s3")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_server)
    assert run(capsys, "store", "mb", "vg-cli-test")[0] == 0
    assert run(capsys, "store", "put", str(cat), "s3://vg-cli-test/c.png")[0] == 0
    assert "c.png" in run(capsys, "store", "ls", "s3://vg-cli-test/")[1]

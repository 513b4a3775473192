"""Settings: defaults in code, visiongate.toml on top, environment variables on top of that."""

from __future__ import annotations

from pathlib import Path

import pytest

from visiongate import config
from visiongate.cli.main import main
from visiongate.config import (
    DEFAULT_DEFINITION,
    DEFAULT_FUNCTIONS,
    DEFAULT_SUBSTITUTIONS,
    load_settings,
)
from visiongate.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "foundation.md"


@pytest.fixture(autouse=True)
def in_empty_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No stray ./visiongate.toml from the repository."""
    folder = tmp_path / "cwd"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def write_toml(folder: Path, text: str) -> Path:
    path = folder / "visiongate.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults() -> None:
    settings = load_settings(env={})
    assert settings.home == Path(".visiongate")
    assert settings.store_backend == "local"
    assert settings.store_path == Path(".visiongate/store")
    assert settings.threshold == 0.75
    assert settings.endpoint_name == "visiongate"
    assert settings.endpoint_url == "http://127.0.0.1:8080"
    assert settings.database == Path(".visiongate/visiongate.db")
    assert settings.definition == DEFAULT_DEFINITION
    assert settings.functions == DEFAULT_FUNCTIONS
    assert settings.substitutions == DEFAULT_SUBSTITUTIONS
    assert settings.max_image_bytes == 6 * 1024 * 1024  # SageMaker's 6 MB request limit
    assert settings.max_inline_image_bytes == 200_000


def test_visiongate_toml_in_the_working_directory_overrides_defaults(in_empty_folder: Path) -> None:
    write_toml(
        in_empty_folder,
        """
[store]
backend = "s3"
root = "/data/store"
[gate]
threshold = 0.9
[endpoint]
name = "bikes"
url = "http://10.0.0.2:8080"
[database]
path = "/data/vg.db"
[workflow]
home = "/data/home"
definition = "/data/flow.asl.json"
[limits]
max_image_bytes = 1_000_000
max_inline_image_bytes = 0
[functions]
serialize_image = "my.module:handler"
[substitutions]
ClassifyFunctionName = "classify-v2"
""",
    )
    settings = load_settings(env={})
    assert settings.store_backend == "s3"
    assert settings.store_path == Path("/data/store")
    assert settings.threshold == 0.9
    assert (settings.endpoint_name, settings.endpoint_url) == ("bikes", "http://10.0.0.2:8080")
    assert settings.database == Path("/data/vg.db")
    assert settings.home == Path("/data/home")
    assert settings.definition == Path("/data/flow.asl.json")
    assert (settings.max_image_bytes, settings.max_inline_image_bytes) == (1_000_000, 0)
    assert settings.functions["serialize_image"] == "my.module:handler"
    assert settings.functions["classify"] == DEFAULT_FUNCTIONS["classify"]
    assert settings.substitutions["ClassifyFunctionName"] == "classify-v2"


def test_the_config_file_can_be_named(tmp_path: Path) -> None:
    path = tmp_path / "elsewhere.toml"
    path.write_text("[gate]\nthreshold = 0.6\n")
    assert load_settings(env={"VISIONGATE_CONFIG": str(path)}).threshold == 0.6
    assert load_settings(path, env={}).threshold == 0.6


def test_environment_overrides_win_over_the_file(in_empty_folder: Path) -> None:
    write_toml(in_empty_folder, '[gate]\nthreshold = 0.9\n[endpoint]\nname = "from-file"\n')
    settings = load_settings(env={"THRESHOLD": "0.8", "ENDPOINT": "from-env"})
    assert (settings.threshold, settings.endpoint_name) == (0.8, "from-env")


def test_visiongate_variables_win_over_the_lambda_style_names() -> None:
    env = {
        "THRESHOLD": "0.8",
        "VISIONGATE_THRESHOLD": "0.85",
        "ENDPOINT": "a",
        "VISIONGATE_ENDPOINT": "b",
        "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": "http://aws-style:1",
        "VISIONGATE_ENDPOINT_URL": "http://ours:2",
    }
    settings = load_settings(env=env)
    assert (settings.threshold, settings.endpoint_name, settings.endpoint_url) == (
        0.85,
        "b",
        "http://ours:2",
    )


@pytest.mark.parametrize(
    ("variable", "value", "field", "expected"),
    [
        ("VISIONGATE_HOME", "/h", "home", Path("/h")),
        ("VISIONGATE_STORE_BACKEND", "S3", "store_backend", "s3"),
        ("VISIONGATE_STORE_ROOT", "/s", "store_root", Path("/s")),
        ("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", "http://x:1", "endpoint_url", "http://x:1"),
        ("VISIONGATE_DB", "/d.db", "db_path", Path("/d.db")),
        ("VISIONGATE_DEFINITION", "/f.json", "definition", Path("/f.json")),
        ("MAX_IMAGE_BYTES", "1024", "max_image_bytes", 1024),
        ("MAX_INLINE_IMAGE_BYTES", "0", "max_inline_image_bytes", 0),
    ],
)
def test_each_environment_variable(variable: str, value: str, field: str, expected: object) -> None:
    assert getattr(load_settings(env={variable: value}), field) == expected


def test_keyword_overrides_win_over_everything() -> None:
    assert load_settings(env={"THRESHOLD": "0.8"}, threshold=0.3).threshold == 0.3


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"THRESHOLD": "high"}, r"\$THRESHOLD: threshold 'high' is not a number"),
        ({"THRESHOLD": "1.5"}, "outside"),
        ({"VISIONGATE_THRESHOLD": "-0.1"}, "outside"),
        ({"VISIONGATE_STORE_BACKEND": "gcs"}, "unknown"),
        ({"MAX_IMAGE_BYTES": "6MB"}, "not a byte count"),
        ({"MAX_IMAGE_BYTES": "0"}, "not a byte count"),
        ({"MAX_INLINE_IMAGE_BYTES": "-1"}, "not a byte count"),
    ],
)
def test_bad_environment_values_are_config_errors_with_a_hint(env: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        load_settings(env=env)
    assert caught.value.hint


@pytest.mark.parametrize(
    ("text", "message", "hint"),
    [
        (
            '[gate]\nthreshold = "high"\n',
            "gate.threshold: threshold 'high' is not a number",
            "0.75",
        ),
        ("[gate]\nthreshold = 2\n", "outside", "between 0 and 1"),
        ("[gate]\nthresold = 0.8\n", "unknown setting gate.thresold", "gate.threshold"),
        ("[nope]\nx = 1\n", "unknown setting nope.x", "known settings"),
        ("[gate\nthreshold = 0.8\n", "not valid TOML", "syntax"),
        ('[store]\nbackend = "ftp"\n', "unknown", "local"),
        ("[limits]\nmax_image_bytes = true\n", "not a byte count", "whole number"),
    ],
)
def test_bad_files_are_config_errors_with_a_hint(
    in_empty_folder: Path, text: str, message: str, hint: str
) -> None:
    write_toml(in_empty_folder, text)
    with pytest.raises(ConfigError, match=message) as caught:
        load_settings(env={})
    assert hint in (caught.value.hint or "")


def test_a_section_that_is_not_a_table_is_an_error(in_empty_folder: Path) -> None:
    write_toml(in_empty_folder, "gate = 0.8\n")
    with pytest.raises(ConfigError, match=r"\[gate\] must be a table"):
        load_settings(env={})


def test_a_missing_named_config_file_is_an_error() -> None:
    with pytest.raises(ConfigError, match="does not exist") as caught:
        load_settings(env={"VISIONGATE_CONFIG": "/no/such/visiongate.toml"})
    assert "VISIONGATE_CONFIG" in (caught.value.hint or "")


def test_the_cli_reports_a_bad_config_as_one_clean_message(
    in_empty_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_toml(in_empty_folder, "[gate]\nthreshold = 7\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["store", "ls", "s3://images/"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "error:" in err and "outside [0, 1]" in err and "hint:" in err
    assert "Traceback" not in err


def test_every_setting_is_documented() -> None:
    # One documented place: every environment variable and toml key appears in the doc.
    text = DOC.read_text(encoding="utf-8")
    for variable, _field in config._ENV:
        assert f"`{variable}`" in text, variable
    for section, key in config._TOML:
        assert f"`{section}.{key}`" in text, f"{section}.{key}"
    assert "`VISIONGATE_CONFIG`" in text

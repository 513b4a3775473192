"""Server settings are validated once, when the server is built; the CLI documents itself."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from visiongate.errors import ConfigError
from visiongate.serving.config import ServerConfig
from visiongate.serving.http import HttpLimits


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"port": 70000}, "port 70000 is not 0..65535"),
        ({"threads": 0}, "threads 0 is not 1..256"),
        (
            {"endpoint_name": "bad_name!"},
            "endpoint name 'bad_name!' is not a SageMaker endpoint name",
        ),
        ({"endpoint_name": "-starts-with-hyphen"}, "is not a SageMaker endpoint name"),
        ({"http": HttpLimits(request_timeout=0)}, "timeouts must be positive"),
        ({"http": HttpLimits(max_body_bytes=0)}, "the body limit must be at least 1 byte"),
    ],
)
def test_invalid_settings_are_refused_with_the_reason(changes: dict, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        ServerConfig(model_dir=Path("m"), **changes)
    assert problem in caught.value.message


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        ServerConfig(model_dir=Path("m"), port=-1, threads=999)
    assert "port -1" in caught.value.message and "threads 999" in caught.value.message


def test_serve_help_lists_the_options_and_ends_with_an_example() -> None:
    from visiongate.cli.main import app

    result = CliRunner().invoke(app, ["serve", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for option in ("--model", "--host", "--port", "--name", "--capture", "--capture-percent",
                   "--max-batch-size", "--max-wait-ms", "--workers", "--threads", "--max-body-mb"):  # fmt: skip
        assert option in result.output
    assert "Example: visiongate serve --model" in result.output


def test_every_option_is_documented() -> None:
    guide = (Path(__file__).resolve().parents[2] / "docs" / "serving.md").read_text()
    for option in ("--model", "--host", "--port", "--name", "--capture", "--capture-percent",
                   "--max-batch-size", "--max-wait-ms", "--workers", "--threads", "--max-body-mb",
                   "--request-timeout"):  # fmt: skip
        assert f"`{option}" in guide, option

"""`visiongate deploy …`: the CloudFormation template, deploying it, tearing it down.

A thin layer over :mod:`visiongate.deploy`; boto3 and the template code load only when a
command runs.
"""

from __future__ import annotations

from pathlib import Path

import typer

from visiongate.cli.common import console, err_console, fail, settings

_PARAM_HELP = "KEY=VALUE for a template parameter (repeatable); see docs/deploy.md."


def _parse_params(items: list[str] | None) -> dict[str, str]:
    values: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            fail(f"--param {item!r} is not KEY=VALUE", hint="e.g. --param Threshold=0.8")
        values[key.strip()] = value
    return values


def register(app: typer.Typer) -> None:
    """Add the ``deploy`` command group to ``app``."""
    group = typer.Typer(
        help=(
            "Deploy the workflow to AWS: Step Functions, three Lambda functions and a "
            "SageMaker endpoint, through one CloudFormation stack.\n\n"
            "Example: visiongate deploy aws --stack visiongate --model model "
            "--image-uri 123456789012.dkr.ecr.us-east-1.amazonaws.com/visiongate:1"
        ),
        no_args_is_help=True,
    )
    app.add_typer(group, name="deploy")

    @group.command("template")
    def template_command(
        ctx: typer.Context,
        out: Path = typer.Option(
            None, "--out", "-o", help="Write here (.yaml/.yml or .json); default: stdout as YAML."
        ),
        param: list[str] = typer.Option(
            None, "--param", "-p", help=_PARAM_HELP + " Sets defaults."
        ),
    ) -> None:
        """Write the CloudFormation template (parameters, functions, state machines, endpoint).

        Example: visiongate deploy template --out template.yaml --param EnableS3Trigger=true
        """
        from visiongate.deploy.template import build_template, render

        template = build_template(settings(ctx), defaults=_parse_params(param))
        fmt = "json" if out is not None and out.suffix.lower() == ".json" else "yaml"
        text = render(template, fmt)
        if out is None:
            typer.echo(text, nl=False)
            return
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            fail(f"cannot write {out}: {exc.strerror}")
        err_console.print(f"wrote {out} ({len(template['Resources'])} resources)")

    @group.command("aws")
    def aws_command(
        ctx: typer.Context,
        stack: str = typer.Option(..., "--stack", "-s", help="CloudFormation stack name."),
        region: str = typer.Option(None, "--region", help="AWS region (default: configured)."),
        model: Path = typer.Option(
            None,
            "--model",
            "-m",
            help="Model directory (model.onnx, model.json); needed to create.",
        ),
        image_uri: str = typer.Option(
            None, "--image-uri", help="ECR image of the model server; needed to create."
        ),
        bucket: str = typer.Option(
            None, "--bucket", help="Artifact bucket for code, model, capture, results (created)."
        ),
        images_bucket: str = typer.Option(
            None,
            "--images-bucket",
            help="Images bucket (default: <stack>-images-<account>-<region>).",
        ),
        param: list[str] = typer.Option(None, "--param", "-p", help=_PARAM_HELP),
    ) -> None:
        """Package the Lambda zip and model.tar.gz, upload them, create or update the stack.

        Example: visiongate deploy aws --stack visiongate --model model --image-uri 123456789012.dkr.ecr.us-east-1.amazonaws.com/visiongate:1
        """
        from visiongate.deploy.aws import deploy

        deploy(
            stack,
            settings=settings(ctx),
            region=region,
            model_dir=model,
            image_uri=image_uri,
            artifact_bucket=bucket,
            images_bucket=images_bucket,
            parameters=_parse_params(param),
            console=console,
        )

    @group.command("destroy")
    def destroy_command(
        stack: str = typer.Option(..., "--stack", "-s", help="CloudFormation stack name."),
        region: str = typer.Option(None, "--region", help="AWS region (default: configured)."),
        yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    ) -> None:
        """Delete the stack (the images and artifact buckets are kept).

        Example: visiongate deploy destroy --stack visiongate --yes
        """
        from visiongate.deploy.aws import destroy

        if not yes and not typer.confirm(f"Delete stack {stack} and everything it created?"):
            raise typer.Exit(1)
        destroy(stack, region=region, console=console)

    @group.command("outputs")
    def outputs_command(
        stack: str = typer.Option(..., "--stack", "-s", help="CloudFormation stack name."),
        region: str = typer.Option(None, "--region", help="AWS region (default: configured)."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    ) -> None:
        """Print the deployed stack's outputs (state machine ARNs, endpoint, buckets).

        Example: visiongate deploy outputs --stack visiongate --json
        """
        import json

        from visiongate.deploy.aws import outputs_table, stack_outputs

        outputs = stack_outputs(stack, region)
        if as_json:
            typer.echo(json.dumps(outputs, indent=2, sort_keys=True))
        else:
            console.print(outputs_table(outputs, f"stack {stack}"))

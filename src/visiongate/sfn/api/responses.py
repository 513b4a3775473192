"""One handler per API action: request members in, response members out (moto's "responses").

Handlers read the members botocore's service model defines for the action's input and return
exactly the members of its output shape, named and typed as AWS names them; timestamps are
seconds since the epoch, as the JSON 1.0 protocol carries them. No HTTP here, no state here.
https://docs.aws.amazon.com/step-functions/latest/apireference/API_Operations.html
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from typing import Any

from visiongate.sfn.api.backend import StepFunctionsBackend
from visiongate.sfn.api.machines import DEFAULT_LOGGING, DEFAULT_TRACING
from visiongate.sfn.api.versions import Version
from visiongate.sfn.records import Execution, MapRun, StateMachine
from visiongate.sfn.variables import references

Params = dict[str, Any]


def epoch(moment: datetime | None) -> float | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _compact(members: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in members.items() if value is not None}


def snake_case(action: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", action).lower()


# -- shapes shared by several actions ---------------------------------------------------------


def describe_state_machine(machine: StateMachine, included_data: str | None = None) -> Params:
    members = {
        "stateMachineArn": machine.arn,
        "name": machine.name,
        "status": machine.status,
        "definition": machine.definition if included_data != "METADATA_ONLY" else None,
        "roleArn": machine.role_arn,
        "type": machine.type,
        "creationDate": epoch(machine.creation_date),
        "loggingConfiguration": machine.logging_configuration or DEFAULT_LOGGING,
        "tracingConfiguration": machine.tracing_configuration or DEFAULT_TRACING,
        # AWS shows the revision id only once the state machine has been updated.
        "revisionId": machine.revision_id if machine.update_date is not None else None,
        "description": machine.description or None,
        "variableReferences": variable_references(machine.definition),
    }
    return _compact(members)


def variable_references(definition: str) -> dict[str, list[str]] | None:
    """DescribeStateMachine's ``variableReferences``: state name -> variables it reads."""
    try:
        parsed = json.loads(definition)
    except ValueError:
        return None
    return (references(parsed) or None) if isinstance(parsed, dict) else None


def describe_version(version: Version, machine: StateMachine, included_data: str | None) -> Params:
    described = describe_state_machine(machine, included_data)
    described.update(
        stateMachineArn=version.arn,
        definition=version.definition if included_data != "METADATA_ONLY" else None,
        variableReferences=variable_references(version.definition),
        roleArn=version.role_arn,
        creationDate=epoch(version.creation_date),
        revisionId=version.revision_id,
        description=version.description,
    )
    return _compact(described)


def describe_execution(execution: Execution, included_data: str | None = None) -> Params:
    with_data = included_data != "METADATA_ONLY"
    succeeded = execution.status == "SUCCEEDED" and execution.output is not None
    redrive_status, redrive_reason = execution.redrive_status()
    members = {
        "executionArn": execution.arn,
        "stateMachineArn": execution.state_machine_arn,
        "name": execution.name,
        "status": execution.status,
        "startDate": epoch(execution.start_date),
        "stopDate": epoch(execution.stop_date),
        "input": execution.input if with_data else None,
        "inputDetails": {"included": with_data},
        "output": execution.output if succeeded and with_data else None,
        "outputDetails": {"included": with_data} if succeeded else None,
        "traceHeader": execution.trace_header,
        "mapRunArn": execution.map_run_arn,
        "error": execution.error,
        "cause": execution.cause,
        "redriveCount": execution.redrive_count,
        "redriveDate": epoch(execution.redrive_date),
        "redriveStatus": redrive_status,
        "redriveStatusReason": redrive_reason,
    }
    return _compact(members)


def execution_item(execution: Execution, version_arn: str | None = None) -> Params:
    return _compact(
        {
            "stateMachineVersionArn": version_arn,
            "executionArn": execution.arn,
            "stateMachineArn": execution.state_machine_arn,
            "name": execution.name,
            "status": execution.status,
            "startDate": epoch(execution.start_date),
            "stopDate": epoch(execution.stop_date),
            "mapRunArn": execution.map_run_arn,
            "redriveCount": execution.redrive_count,
            "redriveDate": epoch(execution.redrive_date),
        }
    )


def map_run_state_machine(run: MapRun, execution_arn: str) -> str:
    # The child state machine of a Distributed Map: <parent machine>/<label>.
    prefix, _, rest = execution_arn.partition(":execution:")
    machine = rest.rsplit(":", 1)[0]
    label = run.arn.rsplit(":", 1)[0].rsplit("/", 1)[-1]
    return f"{prefix}:stateMachine:{machine}/{label}"


def event(item: dict[str, Any]) -> Params:
    shaped = dict(item)
    shaped["timestamp"] = epoch(item["timestamp"])
    return shaped


class StepFunctionsResponse:
    """The handlers; ``dispatch`` calls the one named after the action."""

    def __init__(self, backend: StepFunctionsBackend) -> None:
        self.backend = backend

    def dispatch(self, action: str, params: Params, region: str) -> Params:
        return getattr(self, snake_case(action))(params, region)

    # -- state machines ---------------------------------------------------------------------

    def create_state_machine(self, p: Params, region: str) -> Params:
        machine, version = self.backend.machines.create(
            region,
            p["name"],
            p["definition"],
            p["roleArn"],
            p.get("type", "STANDARD"),
            logging=p.get("loggingConfiguration"),
            tracing=p.get("tracingConfiguration"),
            tags=p.get("tags"),
            publish=bool(p.get("publish")),
            version_description=p.get("versionDescription"),
        )
        return _compact(
            {
                "stateMachineArn": machine.arn,
                "creationDate": epoch(machine.creation_date),
                "stateMachineVersionArn": version.arn if version else None,
            }
        )

    def update_state_machine(self, p: Params, region: str) -> Params:
        update_date, revision_id, version = self.backend.machines.update(
            p["stateMachineArn"],
            definition=p.get("definition"),
            role_arn=p.get("roleArn"),
            logging=p.get("loggingConfiguration"),
            tracing=p.get("tracingConfiguration"),
            publish=bool(p.get("publish")),
            version_description=p.get("versionDescription"),
        )
        members = {
            "updateDate": epoch(update_date),
            "revisionId": revision_id,
            "stateMachineVersionArn": version.arn if version else None,
        }
        return _compact(members)

    def describe_state_machine(self, p: Params, region: str) -> Params:
        found = self.backend.machines.get_any(p["stateMachineArn"])
        if isinstance(found, tuple):
            return describe_version(*found, p.get("includedData"))
        return describe_state_machine(found, p.get("includedData"))

    def describe_state_machine_for_execution(self, p: Params, region: str) -> Params:
        execution, machine, map_run = self.backend.executions.machine_for(p["executionArn"])
        updated = machine.update_date or machine.creation_date if machine else execution.start_date
        members = {
            "stateMachineArn": execution.state_machine_arn,
            "name": execution.state_machine_name,
            "definition": execution.definition
            if p.get("includedData") != "METADATA_ONLY"
            else None,
            "roleArn": execution.role_arn or (machine.role_arn if machine else None),
            "updateDate": epoch(updated),
            "loggingConfiguration": (machine and machine.logging_configuration) or DEFAULT_LOGGING,
            "tracingConfiguration": (machine and machine.tracing_configuration) or DEFAULT_TRACING,
            "mapRunArn": execution.map_run_arn,
            "label": map_run.label if map_run else None,
            "revisionId": machine.revision_id if machine and machine.update_date else None,
            "variableReferences": variable_references(execution.definition),
        }
        return _compact(members)

    def list_state_machines(self, p: Params, region: str) -> Params:
        machines, token = self.backend.machines.list(
            region, p.get("maxResults"), p.get("nextToken")
        )
        items = [
            {
                "stateMachineArn": m.arn,
                "name": m.name,
                "type": m.type,
                "creationDate": epoch(m.creation_date),
            }
            for m in machines
        ]
        return _compact({"stateMachines": items, "nextToken": token})

    def delete_state_machine(self, p: Params, region: str) -> Params:
        self.backend.machines.delete(p["stateMachineArn"])
        return {}

    def publish_state_machine_version(self, p: Params, region: str) -> Params:
        version = self.backend.machines.publish(
            p["stateMachineArn"], p.get("revisionId"), p.get("description")
        )
        return {"creationDate": epoch(version.creation_date), "stateMachineVersionArn": version.arn}

    def list_state_machine_versions(self, p: Params, region: str) -> Params:
        versions, token = self.backend.machines.list_versions(
            p["stateMachineArn"], p.get("maxResults"), p.get("nextToken")
        )
        items = [
            {"stateMachineVersionArn": v.arn, "creationDate": epoch(v.creation_date)}
            for v in versions
        ]
        return _compact({"stateMachineVersions": items, "nextToken": token})

    def delete_state_machine_version(self, p: Params, region: str) -> Params:
        self.backend.machines.delete_version(p["stateMachineVersionArn"])
        return {}

    def validate_state_machine_definition(self, p: Params, region: str) -> Params:
        return self.backend.validate(
            p["definition"], p.get("type"), p.get("severity"), p.get("maxResults")
        )

    # -- executions -------------------------------------------------------------------------

    def start_execution(self, p: Params, region: str) -> Params:
        execution = self.backend.executions.start(
            p["stateMachineArn"], p.get("name"), p.get("input"), p.get("traceHeader")
        )
        return {"executionArn": execution.arn, "startDate": epoch(execution.start_date)}

    def start_sync_execution(self, p: Params, region: str) -> Params:
        execution = self.backend.executions.start_sync(
            p["stateMachineArn"], p.get("name"), p.get("input"), p.get("traceHeader")
        )
        shaped = describe_execution(execution, p.get("includedData"))
        for key in (
            "redriveCount",
            "redriveStatus",
            "redriveStatusReason",
            "redriveDate",
            "mapRunArn",
        ):
            shaped.pop(key, None)
        elapsed = (execution.stop_date or execution.start_date) - execution.start_date
        shaped["billingDetails"] = {
            "billedMemoryUsedInMB": 64,
            "billedDurationInMilliseconds": max(100, math.ceil(elapsed.total_seconds() * 10) * 100),
        }
        return shaped

    def describe_execution(self, p: Params, region: str) -> Params:
        execution = self.backend.executions.get(p["executionArn"])
        described = describe_execution(execution, p.get("includedData"))
        version_arn = self.backend.executions.version_of(execution.arn)
        return _compact({**described, "stateMachineVersionArn": version_arn})

    def list_executions(self, p: Params, region: str) -> Params:
        executions, token = self.backend.executions.list(
            region,
            state_machine=p.get("stateMachineArn"),
            status=p.get("statusFilter"),
            map_run=p.get("mapRunArn"),
            redrive_filter=p.get("redriveFilter"),
            max_results=p.get("maxResults"),
            token=p.get("nextToken"),
        )
        version_of = self.backend.executions.version_of
        items = [execution_item(e, version_of(e.arn)) for e in executions]
        return _compact({"executions": items, "nextToken": token})

    def get_execution_history(self, p: Params, region: str) -> Params:
        events, token = self.backend.executions.history(
            p["executionArn"],
            max_results=p.get("maxResults"),
            reverse=bool(p.get("reverseOrder", False)),
            token=p.get("nextToken"),
            include_data=bool(p.get("includeExecutionData", True)),
        )
        return _compact({"events": [event(e) for e in events], "nextToken": token})

    def stop_execution(self, p: Params, region: str) -> Params:
        execution = self.backend.executions.stop(p["executionArn"], p.get("error"), p.get("cause"))
        return {"stopDate": epoch(execution.stop_date or datetime.now(UTC))}

    def redrive_execution(self, p: Params, region: str) -> Params:
        execution = self.backend.executions.redrive(p["executionArn"])
        return {"redriveDate": epoch(execution.redrive_date or datetime.now(UTC))}

    # -- task tokens ------------------------------------------------------------------------

    def send_task_success(self, p: Params, region: str) -> Params:
        self.backend.executions.send_success(p["taskToken"], p["output"])
        return {}

    def send_task_failure(self, p: Params, region: str) -> Params:
        self.backend.executions.send_failure(p["taskToken"], p.get("error"), p.get("cause"))
        return {}

    def send_task_heartbeat(self, p: Params, region: str) -> Params:
        self.backend.executions.send_heartbeat(p["taskToken"])
        return {}

    # -- map runs ---------------------------------------------------------------------------

    def describe_map_run(self, p: Params, region: str) -> Params:
        run = self.backend.executions.map_run(p["mapRunArn"])
        return _compact(
            {
                "mapRunArn": run.arn,
                "executionArn": run.execution_arn,
                "status": run.status,
                "startDate": epoch(run.start_date),
                "stopDate": epoch(run.stop_date),
                "maxConcurrency": run.max_concurrency,
                "toleratedFailurePercentage": run.tolerated_failure_percentage,
                "toleratedFailureCount": run.tolerated_failure_count,
                "itemCounts": run.item_counts,
                "executionCounts": run.execution_counts,
                "redriveCount": run.redrive_count,
                "redriveDate": epoch(run.redrive_date),
            }
        )

    def list_map_runs(self, p: Params, region: str) -> Params:
        runs, token = self.backend.executions.map_runs(
            p["executionArn"], p.get("maxResults"), p.get("nextToken")
        )
        items = [
            _compact(
                {
                    "executionArn": run.execution_arn,
                    "mapRunArn": run.arn,
                    "stateMachineArn": map_run_state_machine(run, run.execution_arn),
                    "startDate": epoch(run.start_date),
                    "stopDate": epoch(run.stop_date),
                }
            )
            for run in runs
        ]
        return _compact({"mapRuns": items, "nextToken": token})

    # -- tags -------------------------------------------------------------------------------

    def tag_resource(self, p: Params, region: str) -> Params:
        self.backend.machines.tag(p["resourceArn"], p["tags"])
        return {}

    def untag_resource(self, p: Params, region: str) -> Params:
        self.backend.machines.untag(p["resourceArn"], p["tagKeys"])
        return {}

    def list_tags_for_resource(self, p: Params, region: str) -> Params:
        return {"tags": self.backend.machines.tags(p["resourceArn"])}

    # -- TestState --------------------------------------------------------------------------

    def test_state(self, p: Params, region: str) -> Params:
        return self.backend.test_states.run(region, p)


def implemented_actions() -> list[str]:
    """The actions with a handler, by AWS name (used by urls and the coverage table)."""
    from visiongate.sfn.api.shapes import operation_names

    return [name for name in operation_names() if hasattr(StepFunctionsResponse, snake_case(name))]

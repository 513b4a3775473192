"""State machines through the API: create (idempotent), update, describe, list, delete, tags.

Rules taken from AWS (CreateStateMachine/UpdateStateMachine/DeleteStateMachine reference, and
responses recorded in LocalStack's ``test_sfn_api`` / ``test_sfn_api_tagging`` snapshots):

* CreateStateMachine is idempotent on name + definition + type + logging + tracing; a
  different roleArn or tags is ignored. The same name with anything else different is
  ``StateMachineAlreadyExists``.
* UpdateStateMachine needs one of definition, roleArn, loggingConfiguration,
  tracingConfiguration (``MissingRequiredParameter``); an update that changes nothing keeps
  the revision id. DescribeStateMachine shows ``revisionId`` only after an update.
* DeleteStateMachine of an unknown machine succeeds; a machine with running executions is
  ``DELETING`` until they finish.
* Tags are ``[{key, value}]`` in insertion order, at most 50 per resource.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from visiongate.sfn.api import definitions, pagination
from visiongate.sfn.api.arns import check_name, expect, parse
from visiongate.sfn.api.engines import EnginePool
from visiongate.sfn.api.exceptions import (
    ConflictException,
    InvalidLoggingConfiguration,
    MissingRequiredParameter,
    ResourceNotFound,
    StateMachineAlreadyExists,
    StateMachineDeleting,
    StateMachineDoesNotExist,
    TooManyTags,
    ValidationException,
)
from visiongate.sfn.api.versions import Version, VersionStore, split_version
from visiongate.sfn.records import StateMachine

MAX_TAGS = 50
DEFAULT_LOGGING = {"level": "OFF", "includeExecutionData": False}
DEFAULT_TRACING = {"enabled": False}


def logging_configuration(config: dict[str, Any] | None) -> dict[str, Any]:
    """AWS's normalised LoggingConfiguration (defaults filled in), or InvalidLoggingConfiguration."""
    config = dict(config or {})
    destinations = config.get("destinations")
    level = config.get("level") or "OFF"
    if (destinations is not None and len(destinations) > 1) or (
        level != "OFF" and not destinations
    ):
        raise InvalidLoggingConfiguration(
            "Invalid Logging Configuration: Must specify exactly one Log Destination."
        )
    config["level"] = level
    config["includeExecutionData"] = bool(config.get("includeExecutionData", False))
    return config


def tracing_configuration(config: dict[str, Any] | None) -> dict[str, Any]:
    return {"enabled": bool((config or {}).get("enabled", False))}


class StateMachines:
    def __init__(self, engines: EnginePool, versions: VersionStore) -> None:
        self.engines = engines
        self.versions = versions

    # -- lookups ----------------------------------------------------------------------------

    def get(self, arn: str, *, allow_deleting: bool = True) -> StateMachine:
        expect(arn, "stateMachine")
        if split_version(arn)[1] is not None:
            raise StateMachineDoesNotExist(f"State Machine Does Not Exist: '{arn}'")
        engine = self.engines.for_arn(arn)
        self.purge_if_deleted(arn)
        row = engine.store.get_state_machine(arn)
        if row is None:
            raise StateMachineDoesNotExist(f"State Machine Does Not Exist: '{arn}'")
        machine = StateMachine.from_row(row)
        if machine.status == "DELETING" and not allow_deleting:
            raise StateMachineDeleting(f"State Machine is being deleted: '{arn}'")
        return machine

    def purge_if_deleted(self, arn: str) -> None:
        """Finish deleting a DELETING machine once its executions have stopped."""
        store = self.engines.for_arn(arn).store
        row = store.get_state_machine(arn)
        if (
            row is not None
            and row["status"] == "DELETING"
            and not store.list_executions(state_machine_arn=arn, status="RUNNING", limit=1)
        ):
            store.delete_state_machine(arn)
            self.versions.delete_machine(arn)

    def version(self, arn: str) -> tuple[Version, StateMachine]:
        """A version and its state machine; StateMachineDoesNotExist when either is gone."""
        base, number = split_version(arn)
        version = self.versions.get(arn) if number is not None else None
        if version is None:
            raise StateMachineDoesNotExist(f"State Machine Does Not Exist: '{arn}'")
        return version, self.get(base)

    def get_any(self, arn: str) -> StateMachine | tuple[Version, StateMachine]:
        """A state machine, or (version, state machine) for a version ARN."""
        expect(arn, "stateMachine")
        return self.version(arn) if split_version(arn)[1] is not None else self.get(arn)

    def publish(
        self, arn: str, revision_id: str | None = None, description: str | None = None
    ) -> Version:
        """PublishStateMachineVersion (and ``publish=true``): the current revision's version."""
        machine = self.get(arn, allow_deleting=False)
        if revision_id is not None and revision_id != machine.revision_id:
            raise ConflictException(
                f"Failed to publish the State Machine version for revision {revision_id}. "
                f"The current State Machine revision is {machine.revision_id}."
            )
        now = self.engines.for_arn(arn).clock.now()
        return self.versions.publish(machine, description, now)[0]

    # -- create / update --------------------------------------------------------------------

    def create(
        self,
        region: str,
        name: str,
        definition: str,
        role_arn: str,
        machine_type: str = "STANDARD",
        *,
        logging: dict[str, Any] | None = None,
        tracing: dict[str, Any] | None = None,
        tags: list[dict[str, str]] | None = None,
        publish: bool = False,
        version_description: str | None = None,
    ) -> tuple[StateMachine, Version | None]:
        """(the state machine, its published version when ``publish``)."""
        if version_description and not publish:
            raise ValidationException("Version description can only be set when publish is true")
        check_name(name)
        parse(role_arn)
        engine = self.engines.get(region)
        logging = logging_configuration(logging)
        tracing = tracing_configuration(tracing)
        tag_map = self._tag_map({}, tags or [])
        arn = engine.arns.state_machine(name)
        row = engine.store.get_state_machine(arn)
        if row is not None:
            self.purge_if_deleted(arn)
            row = engine.store.get_state_machine(arn)
        if row is not None:
            existing = StateMachine.from_row(row)
            if existing.status == "DELETING":
                raise StateMachineDeleting(f"State Machine is being deleted: '{arn}'")
            same = (
                existing.definition == definition
                and existing.type == machine_type
                and (existing.logging_configuration or DEFAULT_LOGGING) == logging
                and (existing.tracing_configuration or DEFAULT_TRACING) == tracing
            )
            if same:
                return existing, self.publish(arn, None, version_description) if publish else None
            raise StateMachineAlreadyExists(f"State Machine Already Exists: '{arn}'")
        definitions.assert_valid(engine, definition, machine_type)
        machine = engine.create_state_machine(
            name,
            definition,
            role_arn,
            machine_type,
            tags=tag_map,
            logging_configuration=logging,
            tracing_configuration=tracing,
        )
        return machine, self.publish(arn, None, version_description) if publish else None

    def update(
        self,
        arn: str,
        *,
        definition: str | None = None,
        role_arn: str | None = None,
        logging: dict[str, Any] | None = None,
        tracing: dict[str, Any] | None = None,
        publish: bool = False,
        version_description: str | None = None,
    ) -> tuple[datetime, str, Version | None]:
        """(updateDate, revisionId, the published version when ``publish``)."""
        if version_description and not publish:
            raise ValidationException("Version description can only be set when publish is true")
        machine = self.get(arn, allow_deleting=False)
        if definition is None and role_arn is None and logging is None and tracing is None:
            raise MissingRequiredParameter(
                "Either the definition, the role ARN, the LoggingConfiguration, or the "
                "TracingConfiguration must be specified"
            )
        engine = self.engines.for_arn(arn)
        if definition is not None:
            definitions.assert_valid(engine, definition, machine.type)
        if role_arn is not None:
            parse(role_arn)
        changes: dict[str, Any] = {}
        if definition is not None and definition != machine.definition:
            changes["definition"] = definition
        if role_arn is not None and role_arn != machine.role_arn:
            changes["role_arn"] = role_arn
        if logging is not None:
            logging = logging_configuration(logging)
            if logging != (machine.logging_configuration or DEFAULT_LOGGING):
                changes["logging_configuration"] = logging
        if tracing is not None:
            tracing = tracing_configuration(tracing)
            if tracing != (machine.tracing_configuration or DEFAULT_TRACING):
                changes["tracing_configuration"] = tracing
        if changes:
            machine = engine.update_state_machine(arn, **changes)
        version = self.publish(arn, None, version_description) if publish else None
        updated = machine.update_date if changes and machine.update_date else engine.clock.now()
        return updated, machine.revision_id, version

    # -- list / delete ----------------------------------------------------------------------

    def list(
        self, region: str, max_results: int | None, token: str | None
    ) -> tuple[list[StateMachine], str | None]:
        engine = self.engines.get(region)
        prefix = f"arn:aws:states:{region}:{engine.account}:stateMachine:"
        scope = ["ListStateMachines", region]
        start = pagination.decode(token, scope) or 0
        for row in engine.store.list_state_machines():
            if row["status"] == "DELETING":
                self.purge_if_deleted(row["arn"])
        machines = sorted(
            (
                StateMachine.from_row(row)
                for row in engine.store.list_state_machines()
                if row["arn"].startswith(prefix) and row["status"] == "ACTIVE"
            ),
            key=lambda machine: machine.name,
        )
        size = pagination.page_size(max_results)
        page = machines[start : start + size]
        more = start + size < len(machines)
        return page, pagination.encode(start + size, scope) if more else None

    def delete(self, arn: str) -> None:
        expect(arn, "stateMachine")
        if split_version(arn)[1] is not None:
            raise ValidationException(
                "Use DeleteStateMachineVersion to delete a version: DeleteStateMachine takes an "
                "unqualified state machine ARN"
            )
        store = self.engines.for_arn(arn).store
        if store.get_state_machine(arn) is None:
            return
        store.update_state_machine(arn, status="DELETING")
        self.purge_if_deleted(arn)

    # -- versions ---------------------------------------------------------------------------

    def list_versions(
        self, arn: str, max_results: int | None, token: str | None
    ) -> tuple[list[Version], str | None]:
        """ListStateMachineVersions: newest first."""
        self.get(arn)
        versions = self.versions.of_machine(arn)
        scope = ["ListStateMachineVersions", arn]
        start = pagination.decode(token, scope) or 0
        size = pagination.page_size(max_results)
        more = start + size < len(versions)
        return versions[start : start + size], pagination.encode(
            start + size, scope
        ) if more else None

    def delete_version(self, arn: str) -> None:
        """DeleteStateMachineVersion: an unknown version is not an error."""
        expect(arn, "stateMachine")
        if split_version(arn)[1] is None:
            raise ValidationException(
                f"Invalid state machine version ARN: '{arn}' (expected <state machine ARN>:<version>)"
            )
        self.versions.delete(arn)

    # -- tags -------------------------------------------------------------------------------

    def _tagged(self, arn: str) -> StateMachine:
        resource = parse(arn)
        if (
            resource.resource_type not in ("stateMachine", "activity")
            or resource.service != "states"
        ):
            expect(arn, "stateMachine", "activity")
        row = self.engines.for_arn(arn).store.get_state_machine(arn)
        if row is None:
            raise ResourceNotFound(f"Resource not found: '{arn}'")
        return StateMachine.from_row(row)

    @staticmethod
    def _tag_map(current: dict[str, str], tags: list[dict[str, str]]) -> dict[str, str]:
        merged = dict(current)
        for tag in tags:
            merged[tag["key"]] = tag.get("value", "")
        if len(merged) > MAX_TAGS:
            raise TooManyTags(
                "You've exceeded the number of tags allowed for a resource. See the Limits Topic "
                "in the Step Functions Developer Guide."
            )
        return merged

    def tag(self, arn: str, tags: list[dict[str, str]]) -> None:
        machine = self._tagged(arn)
        try:
            merged = self._tag_map(machine.tags, tags)
        except TooManyTags as exc:
            exc.resource_name = arn
            raise
        self.engines.for_arn(arn).store.update_state_machine(arn, tags=json.dumps(merged))

    def untag(self, arn: str, keys: list[str]) -> None:
        machine = self._tagged(arn)
        remaining = {k: v for k, v in machine.tags.items() if k not in set(keys)}
        self.engines.for_arn(arn).store.update_state_machine(arn, tags=json.dumps(remaining))

    def tags(self, arn: str) -> list[dict[str, str]]:
        return [{"key": k, "value": v} for k, v in self._tagged(arn).tags.items()]

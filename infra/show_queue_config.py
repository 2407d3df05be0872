"""Print the launch queue config (a CreateTrainingJob request body) of a deployed stack.

    python -m infra.show_queue_config [--stack mlops-dev-foundation] [--region us-east-1]

Paste the output into a W&B Launch SageMaker queue; the launcher adds image, environment and
tags per run. Its TrainingJobName is ``<job_name_prefix>-${run_id}``: W&B Launch replaces
``${run_id}`` with each run's id. Any other launcher must set its own unique TrainingJobName
starting with ``<job_name_prefix>-``: the launch-agent role may only create, describe, stop and
tag jobs named so. Uses your AWS credentials (read-only: cloudformation:DescribeStacks).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import boto3
from botocore.exceptions import ClientError

from infra.config import ConfigError, app_context, load_settings, profile_target
from infra.launch_queue import RUN_ID_MACRO
from infra.stacks.foundation import LAUNCH_QUEUE_CONFIG_OUTPUT


class QueueConfigError(Exception):
    """The stack or its output is missing: a user-facing one-line message."""


def fetch_queue_config(cloudformation: Any, stack_name: str) -> dict[str, Any]:
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as error:
        raise QueueConfigError(
            f"stack {stack_name!r}: {error.response['Error']['Message']}"
        ) from None
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    if LAUNCH_QUEUE_CONFIG_OUTPUT not in outputs:
        raise QueueConfigError(
            f"stack {stack_name!r} has no output {LAUNCH_QUEUE_CONFIG_OUTPUT}: deploy the "
            "foundation stack of this project first (make deploy)"
        )
    body: dict[str, Any] = json.loads(outputs[LAUNCH_QUEUE_CONFIG_OUTPUT])
    return body


def naming_note(body: dict[str, Any]) -> str:
    """One line for stderr: how launchers name jobs with this body (stdout stays pure JSON)."""
    name = body.get("TrainingJobName")
    if not isinstance(name, str) or not name.endswith(f"-{RUN_ID_MACRO}"):
        return (
            "warning: this queue config sets no TrainingJobName '<prefix>-${run_id}', so W&B "
            "Launch names each job after its bare run id, which the launch-agent role may not "
            "create: redeploy the foundation stack (make deploy)"
        )
    prefix = name.removesuffix(RUN_ID_MACRO)
    return (
        f"note: W&B Launch names each job {name} with the run's id; any other launcher must "
        f"set a unique TrainingJobName starting with '{prefix}' (the launch-agent role's scope)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        epilog=__doc__.split("\n\n", 2)[2].replace("``", "") if __doc__ else None,
    )
    parser.add_argument("--env", default=None, help="environment from cdk.json (default: dev)")
    parser.add_argument("--stack", help="stack name (default: from the environment's settings)")
    parser.add_argument("--region", help="AWS region (default: from the environment's settings)")
    args = parser.parse_args(argv)
    try:
        context = app_context(cli_context={"env": args.env} if args.env else {})
        settings = load_settings(context, profile=profile_target())
        client = boto3.client("cloudformation", region_name=args.region or settings.region)
        body = fetch_queue_config(client, args.stack or settings.stack_name("foundation"))
    except (ConfigError, QueueConfigError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(json.dumps(body, indent=2, sort_keys=True))
    print(naming_note(body), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

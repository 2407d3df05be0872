"""CDK entry point: read settings, build the stacks, synthesize. No resource is defined here."""

from __future__ import annotations

import sys

from infra.app_factory import build_app
from infra.config import ConfigError, app_context, load_settings, profile_target
from pipelines.definition.spec import SpecError


def main() -> int:
    context = app_context()
    try:
        settings = load_settings(context, profile=profile_target())
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        # Building a model's definition checks its requests against botocore's shapes.
        app = build_app(settings, context=context)
    except SpecError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        app.synth()
    except RuntimeError as error:
        # cdk-nag and CloudFormation validation report through the CDK's policy-validation
        # framework, which has already printed every finding; the jsii traceback adds nothing.
        if "ValidationFailed" not in str(error):
            raise
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

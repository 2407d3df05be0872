"""Builds the CDK app from settings: the single place that decides which stacks exist."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aws_cdk as cdk
import cdk_nag

from infra.aspects import DataDefaults
from infra.config import Settings
from infra.stacks.foundation import FoundationStack
from infra.stacks.github_deploy import GitHubDeployStack
from infra.stacks.pipeline import PipelineStack


def build_app(
    settings: Settings, *, context: Mapping[str, Any], outdir: str | None = None
) -> cdk.App:
    # The built-in CloudFormation validation cost ~5 s of a 7.6 s synth here and checks a
    # subset of what `make test` runs cfn-lint for on every template; cdk-nag is unaffected.
    app = cdk.App(context=dict(context), outdir=outdir, builtin_cloud_formation_validation=False)

    def stack_props(component: str, what: str) -> dict[str, Any]:
        """What every stack of the app shares: naming, environment, protection, settings."""
        return {
            "stack_name": settings.stack_name(component),
            "settings": settings,
            "env": cdk.Environment(account=settings.account, region=settings.region),
            "termination_protection": settings.termination_protection,
            "description": f"ML platform {component} ({settings.env_name}): {what}",
        }

    foundation = FoundationStack(
        app, "Foundation", **stack_props("foundation", "key, buckets, ECR, roles")
    )
    PipelineStack(
        app,
        "Pipeline",
        foundation=foundation,
        **stack_props("pipeline", "SageMaker pipeline and registry"),
    )
    if settings.github.enabled:
        GitHubDeployStack(
            app, "GitHubDeploy", **stack_props("github-deploy", "GitHub OIDC deploy role")
        )
    # The foundation's key encrypts every log group of the app; its policy admits them all.
    cdk.Aspects.of(app).add(DataDefaults(log_key=foundation.key))
    cdk.Tags.of(app).add("project", settings.project_prefix)
    cdk.Tags.of(app).add("environment", settings.env_name)
    cdk.Validations.of(app).add_plugins(cdk_nag.AwsSolutionsChecks(app))
    return app

"""A bare stack for construct tests, with the app's feature flags."""

from __future__ import annotations

import aws_cdk as cdk

from infra.config import app_context

# The app's pinned feature flags (cdk.json), so constructs behave here as they do in the app.
FEATURE_FLAGS = {k: v for k, v in app_context(cli_context={}).items() if k.startswith("@")}


def bare_stack() -> cdk.Stack:
    return cdk.Stack(cdk.App(context=FEATURE_FLAGS), "Test")

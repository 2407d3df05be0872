"""The floor for `make bench`: a CDK app with one empty stack, built with the same App options
as ours (built-in CloudFormation validation off), so the ratio measures only our own work."""

from __future__ import annotations

import aws_cdk as cdk

app = cdk.App(builtin_cloud_formation_validation=False)
cdk.Stack(app, "Empty")
app.synth()

"""Run the synthesized SageMaker pipeline definition on this machine: no AWS, no Docker.

``python -m pipelines.local run`` reads the cloud assembly written by ``cdk synth``, resolves
the CloudFormation tokens in the pipeline's definition to deterministic local values, puts the
file assets and the sample data into a folder that stands in for S3, and then interprets the
definition JSON step by step: the step scripts run as subprocesses with SageMaker's container
contract, the endpoint is a local HTTP server and the Lambda step runs its real handler against
moto. Nothing is imported or executed when this package is imported.
"""

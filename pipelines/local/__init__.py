"""Run the synthesized SageMaker pipeline definition on this machine: no AWS, no Docker.

``python -m pipelines.local run`` reads the cloud assembly written by ``cdk synth``, resolves
the CloudFormation tokens in the pipeline's definition to deterministic local values, puts the
file assets and the sample data into a folder that stands in for S3, and then interprets the
definition JSON step by step: the step scripts run as subprocesses with SageMaker's container
contract, the endpoint is a local HTTP server and the Lambda step runs its real handler against
moto. Nothing is imported or executed when this package is imported.

The modules in layers, each importing only from its own layer or the ones listed before it
(``tests/local/test_layers.py`` fails on any import cycle):

- foundations: ``errors``, ``objectstore``, ``assembly``, ``expressions``, ``graph``,
  ``cache``, ``warmpool``, ``interruption``;
- the control plane, the services steps and ``serve`` share: ``hosting`` (models, endpoint
  configs, endpoints), ``registry`` (model packages), ``deployments``, and ``serving``, the
  model server process an endpoint runs;
- what a step is given and returns (``execution``) and how a job process runs (``jobs``);
- the executors, one module per step kind: ``processing``, ``training``, ``tuning`` (with
  ``sampling``), ``control`` (Condition, Fail), ``register_step``, ``endpoint_steps``,
  ``lambda_step``; ``executors`` names the one for each step type;
- one execution: ``scheduler`` runs the steps, ``smoke`` calls the endpoint, ``summary``
  writes what happened, ``runner`` does these in order;
- the command line: ``serve``, ``cli``.
"""

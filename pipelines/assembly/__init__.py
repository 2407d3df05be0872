"""The one reader of cloud assemblies (``cdk.out``), for every consumer: the local run, the
review and the tests.

Plain Python that never imports aws_cdk, so reading an assembly costs no jsii start-up and a
reader of ``cdk.out`` needs nothing but the files. One module per concern:

- ``definition``: a pipeline's definition taken from its template, in either resolver mode;
- ``manifest``: ``manifest.json`` and the stacks' templates, nested assemblies included, and
  the files the CDK writes beside them (metadata, construct tree, validation report);
- ``resolve``: the one CloudFormation intrinsic resolver, concrete values for the local run or
  stable placeholders for the review;
- ``steps``: the one walker over a pipeline definition's steps, condition branches included.
"""

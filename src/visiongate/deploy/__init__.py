"""Deploy the local workflow to AWS unchanged: one CloudFormation stack.

    package    the Lambda zip and model.tar.gz, byte-for-byte reproducible
    template   the CloudFormation template (parameters, conditions, outputs, assembly)
    resources  functions, state machines, S3 trigger, SageMaker endpoint, alarms
    iam        one least-privilege role per principal
    aws        deploy / destroy / stack_outputs (boto3); re-exports start_and_wait
    executions start_and_wait: run a deployed state machine once and wait
    buckets    the artifact bucket and content-addressed uploads
    stacks     waiting on a stack, printing its events, explaining failures
    awsclient  sessions, clients, AWS errors → visiongate.deploy.errors
    errors     what can go wrong, each with a hint

See docs/deploy.md.
"""

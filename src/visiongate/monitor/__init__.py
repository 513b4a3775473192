"""Monitoring: drift, confidence, cost, function logs, and the dashboard (docs/monitoring.md).

stats        image_stats(): brightness/contrast/size, shared with training's baseline
drift        pure drift checks (chi-square, KS, PSI) against baseline.json
traffic      capture records -> arrays; drift_report() loads and compares
captures     the data-capture reader (owned by the serving area)
confidence   confidence over time, per class, share failing the gate
cost         AWS list-price estimate: Step Functions Standard vs Express, Lambda, endpoint
logs         function logs: engine hook, logging handler, log_context
logstore     the function_logs table: schema, writer, read_logs(), follow()
review       the human review queue: pending reviews, complete/reject (docs/review.md)
review_tasks answering task tokens: the Step Functions API (boto3) or an embedded engine
review_dataset  the labelled dataset reviews build (train.lst + train/<class>/)
dashboard/   the web dashboard
"""

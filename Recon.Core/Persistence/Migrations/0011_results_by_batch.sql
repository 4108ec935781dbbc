-- Results and reports (issue 15): GET /api/results?run= and GET /api/reports/runs/{runId} find a run's verdicts through
-- the batches that posted them (batches_run, then these), not by reading every result.
create index reconciliation_results_batch on reconciliation_results (batch_id) where batch_id is not null;
-- GET /api/reports/daily: a day's provider transactions without scanning them all.
create index provider_transactions_value_date on provider_transactions (value_date);

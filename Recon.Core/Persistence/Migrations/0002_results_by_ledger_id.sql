-- Which result holds a ledger entry: posting checks it before opening a ledger-side exception, a manual match
-- before taking an entry. A GIN index answers ledger_ids @> array[id] without scanning every result.
create index reconciliation_results_ledger_ids on reconciliation_results using gin (ledger_ids);

-- Why the engine decided as it did: the parts of reconciliation_results.score (key, amount, date, counterparty,
-- uniqueness, group; see MatchEvidence), so a reviewer sees the evidence next to the verdict. One jsonb column, not six:
-- the parts are read together and may grow; rows decided before this migration (and manual verdicts) have none.
alter table reconciliation_results add column evidence jsonb;

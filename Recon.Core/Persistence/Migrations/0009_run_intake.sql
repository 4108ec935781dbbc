-- The intake plans and queues a run itself (no ingest orchestration since issue 13): what it planned and queued is
-- kept on the run, so the status endpoint can answer from the database, and a repeated request finds its run complete.
alter table runs add column planned integer, add column enqueued integer;

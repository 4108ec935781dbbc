-- The dispatcher looks at batches that stay running (see DispatcherSettings.StalledAfterSeconds); watched_at is when it
-- last looked, so a batch is looked at once per period; requeues also counts restarts of a stuck batch.
alter table batches add column watched_at timestamptz;

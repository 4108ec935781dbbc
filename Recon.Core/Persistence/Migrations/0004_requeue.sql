-- Stranded batches (a row queued whose message was lost) are queued again by the dispatcher; these say when and how often.
alter table batches add column requeued_at timestamptz;
alter table batches add column requeues    integer not null default 0;

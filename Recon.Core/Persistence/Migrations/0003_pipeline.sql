-- Pipeline (issue 6): what the batch status needs beyond 0001, and the runs a request starts.
alter table batches add column run_id         text;
alter table batches add column sequence       integer     not null default 0;
alter table batches add column dispatched_at  timestamptz;
alter table batches add column provider_calls integer     not null default 0;
alter table batches add column throttled      integer     not null default 0;
alter table batches add column token_waits    integer     not null default 0;
alter table batches add column transactions   integer;
alter table batches add column summary        jsonb;
create index batches_run on batches (run_id);

create table runs (
    run_id      text        primary key,
    request     jsonb       not null,
    created_at  timestamptz not null default now()
);

-- Recon store. Money is bigint minor units plus an ISO 4217 code, never floating point.

create table ledger_entries (
    id              text        primary key,
    account         text        not null,
    amount_minor    bigint      not null,
    currency        char(3)     not null check (currency ~ '^[A-Z]{3}$'),
    value_date      date        not null,
    reference       text,
    external_ref    text,
    counterparty    text,
    description     text,
    created_at      timestamptz not null default now()
);
create index ledger_entries_account_date on ledger_entries (account, value_date);
create index ledger_entries_external_ref on ledger_entries (external_ref) where external_ref is not null;

create table provider_transactions (
    provider            text        not null check (provider in ('stripe', 'plaid', 'bank_a', 'bank_b', 'csv')),
    provider_tx_id      text        not null,
    account             text        not null,
    amount_minor        bigint      not null,
    fee_minor           bigint      not null default 0 check (fee_minor >= 0),
    currency            char(3)     not null check (currency ~ '^[A-Z]{3}$'),
    booking_date        date,
    value_date          date        not null,
    bank_reference      text,
    end_to_end_id       text,
    remittance          text,
    group_id            text,
    status              text        not null default 'posted' check (status in ('pending', 'posted', 'removed')),
    raw                 jsonb,
    batch_id            text,
    ingested_at         timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    primary key (provider, provider_tx_id)
);
create index provider_transactions_account_date on provider_transactions (account, value_date);
create index provider_transactions_group on provider_transactions (provider, group_id) where group_id is not null;

-- One cursor per provider item/account; written in the same transaction as the rows it produced.
create table provider_cursors (
    provider    text        not null,
    cursor_key  text        not null,
    cursor      text        not null,
    updated_at  timestamptz not null default now(),
    primary key (provider, cursor_key)
);

create table batches (
    batch_id         text        primary key,
    provider         text        not null,
    account          text        not null,
    priority         smallint    not null check (priority between 0 and 10),
    value_minor      bigint      not null default 0 check (value_minor >= 0),
    currency         char(3)     not null default 'USD' check (currency ~ '^[A-Z]{3}$'),
    status           text        not null default 'queued' check (status in ('queued', 'running', 'done', 'failed', 'late')),
    request          jsonb,
    attempts         integer     not null default 0 check (attempts >= 0),
    last_error       text,
    queued_at        timestamptz not null default now(),
    started_at       timestamptz,
    finished_at      timestamptz,
    late             boolean     not null default false
);
create index batches_status on batches (status);

create table reconciliation_results (
    provider          text        not null,
    provider_tx_id    text        not null,
    ledger_ids        text[]      not null default '{}',
    outcome           text        not null check (outcome in ('matched', 'proposed', 'ambiguous', 'unmatched', 'duplicate')),
    reason            text        not null,
    score             integer     not null check (score between 0 and 1000),
    difference_minor  bigint      not null default 0,
    rule              text        not null,
    batch_id          text,
    decided_by        text        not null default 'engine' check (decided_by in ('engine', 'manual')),
    created_at        timestamptz not null default now(),
    updated_at        timestamptz not null default now(),
    primary key (provider, provider_tx_id)
);
create index reconciliation_results_outcome on reconciliation_results (outcome);

create table exceptions (
    id                bigint      generated always as identity primary key,
    kind              text        not null check (kind in ('provider_transaction', 'ledger_entry')),
    provider          text,
    provider_tx_id    text,
    ledger_id         text,
    reason            text        not null,
    amount_minor      bigint      not null,
    currency          char(3)     not null check (currency ~ '^[A-Z]{3}$'),
    status            text        not null default 'open' check (status in ('open', 'resolved')),
    batch_id          text,
    created_at        timestamptz not null default now(),
    resolved_at       timestamptz,
    check ((kind = 'provider_transaction' and provider is not null and provider_tx_id is not null)
        or (kind = 'ledger_entry' and ledger_id is not null))
);
create unique index exceptions_open_provider on exceptions (provider, provider_tx_id) where kind = 'provider_transaction' and status = 'open';
create unique index exceptions_open_ledger on exceptions (ledger_id) where kind = 'ledger_entry' and status = 'open';

-- Append-only: updates and deletes are refused by trigger, so history cannot be rewritten.
create table audit_log (
    id          bigint      generated always as identity primary key,
    at          timestamptz not null default now(),
    actor       text        not null,
    action      text        not null,
    subject     text        not null,
    detail      jsonb       not null default '{}'
);

create function audit_log_refuse_change() returns trigger language plpgsql as $$
begin
    raise exception 'audit_log is append-only: % refused', tg_op;
end;
$$;
create trigger audit_log_append_only before update or delete or truncate on audit_log
    for each statement execute function audit_log_refuse_change();

-- Balances proven (issue 15): the closing (and opening) booked balance of each bank statement, as the camt.053 / BAI2
-- parsers read it, one row per provider, account and statement day (a statement fetched again replaces its row: a bank's
-- corrected file wins). The proof itself is computed when asked (it moves with every verdict), never stored.
create table statement_balances (
    provider       text        not null,
    account        text        not null,
    day            date        not null,
    currency       char(3)     not null check (currency ~ '^[A-Z]{3}$'),
    opening_minor  bigint,
    closing_minor  bigint      not null,
    statement_id   text,
    batch_id       text,
    updated_at     timestamptz not null default now(),
    primary key (provider, account, day)
);

-- A statement day that does not prove is an exception of its own: kind balance_unproved, on (provider, account,
-- statement_day), its amount the unexplained difference.
alter table exceptions add column account       text;
alter table exceptions add column statement_day date;
alter table exceptions drop constraint exceptions_kind_check;
alter table exceptions drop constraint exceptions_check;
alter table exceptions add constraint exceptions_kind_check check (kind in ('provider_transaction', 'ledger_entry', 'balance_unproved'));
alter table exceptions add constraint exceptions_check check (
       (kind = 'provider_transaction' and provider is not null and provider_tx_id is not null)
    or (kind = 'ledger_entry' and ledger_id is not null)
    or (kind = 'balance_unproved' and provider is not null and account is not null and statement_day is not null));
create unique index exceptions_open_balance on exceptions (provider, account, statement_day) where kind = 'balance_unproved' and status = 'open';

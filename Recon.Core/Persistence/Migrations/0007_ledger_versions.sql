-- Ledger import (issue 15): an entry id is the idempotency key. Importing the same content again changes nothing; different
-- content is a new version: ledger_entries holds the current one (what matching reads), ledger_entry_versions every
-- version it replaced, so an amended entry's history stays for audit.
alter table ledger_entries add column version    integer     not null default 1 check (version >= 1);
alter table ledger_entries add column updated_at timestamptz not null default now();

create table ledger_entry_versions (
    id              text        not null,
    version         integer     not null,
    account         text        not null,
    amount_minor    bigint      not null,
    currency        char(3)     not null,
    value_date      date        not null,
    reference       text,
    external_ref    text,
    counterparty    text,
    description     text,
    recorded_at     timestamptz not null,
    superseded_at   timestamptz not null default now(),
    primary key (id, version)
);

-- Versions are history: like the audit log, they are never rewritten.
create function ledger_entry_versions_refuse_change() returns trigger language plpgsql as $$
begin
    raise exception 'ledger_entry_versions is append-only: % refused', tg_op;
end;
$$;
create trigger ledger_entry_versions_append_only before update or delete or truncate on ledger_entry_versions
    for each statement execute function ledger_entry_versions_refuse_change();

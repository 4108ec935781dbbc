using System.Globalization;
using System.Text;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using Recon.Core.Ingestion;
using Recon.Core.Persistence;
using Recon.Core.Pipeline;

namespace Recon.Core.Balances;

/// <summary>Which statement days to prove (all optional).</summary>
public sealed record BalanceFilter(string? Account, DateOnly? Day, string? Provider);

/// <summary>One open item of a balance proof: a provider transaction or a ledger entry not matched as of the day.</summary>
public sealed record OpenItem(string Id, long AmountMinor, string Description, DateOnly ValueDate);

/// <summary>
/// The bank reconciliation statement of one account and statement day: the statement's closing balance, less the open
/// provider-side items (on the statement, not matched in the ledger), plus the open ledger-side items (in the ledger, not
/// yet on the statement), against the ledger balance. <see cref="DifferenceMinor"/> is what the open items do not explain.
/// </summary>
public sealed record BalanceProof(string Provider, string Account, DateOnly Day, string Currency, long StatementClosingMinor, long LedgerBalanceMinor,
    long OpenProviderMinor, long OpenLedgerMinor, IReadOnlyList<OpenItem>? OpenProviderItems, IReadOnlyList<OpenItem>? OpenLedgerItems)
{
    /// <summary>Ledger balance − (closing − open provider items + open ledger items): zero when the day proves.</summary>
    public long DifferenceMinor => LedgerBalanceMinor - (StatementClosingMinor - OpenProviderMinor + OpenLedgerMinor);

    public bool Proved => DifferenceMinor == 0;
}

/// <summary>
/// Statement balances (written with the page that fetched them) and the balance proof per bank account and day, with the
/// exceptions of the days that do not prove.
/// </summary>
/// <remarks>
/// The ledger of Recon has entries, not balances. The ledger balance is anchored on the bank's own balance where Recon's
/// history of the account starts — the opening balance of its earliest stored statement, the balance brought forward —
/// plus every ledger entry of the account's ledger accounts from that day on. An item is open as of a day when it is not
/// matched to a counterpart dated on or before that day (a deposit the ledger booked on the 20th and the bank on the 21st
/// is in transit on the 20th). A matched pair whose amounts differ (a tolerance match) is not an open item: its difference
/// stays in <see cref="BalanceProof.DifferenceMinor"/>, where a reviewer sees it. Proofs are computed when asked: they move
/// with every verdict, ledger import and review action, so a stored proof would be stale.
/// </remarks>
public sealed class BalanceStore(DatabaseBulkhead database, PipelineOptions options)
{
    /// <summary>Most statement days one answer proves: a year of business days for one account, with room; an older or
    /// other day is asked for by <c>day</c> and <c>account</c>.</summary>
    public const int MaxDays = 400;

    /// <summary>The reason of a balance exception.</summary>
    public const string UnprovedReason = "BalanceUnproved";

    /// <summary>Upserts the balances of a fetched page on (provider, account, day), in the page's transaction.</summary>
    public static async Task UpsertStatementBalancesAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<StatementDayBalance> balances,
        string? batchId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(balances);
        if (balances.Count == 0)
        {
            return;
        }
        // one row per key: a file with two statements of one account and day keeps the last (as the bank ordered them)
        var rows = balances.GroupBy(b => (b.Provider, b.Account, b.Day)).Select(g => g.Last()).ToList();
        await using var cmd = new NpgsqlCommand("""
            insert into statement_balances as s (provider, account, day, currency, opening_minor, closing_minor, statement_id, batch_id)
            select * from unnest($1::text[], $2::text[], $3::date[], $4::text[], $5::bigint[], $6::bigint[], $7::text[], $8::text[])
            on conflict (provider, account, day) do update set currency = excluded.currency, opening_minor = excluded.opening_minor,
                closing_minor = excluded.closing_minor, statement_id = excluded.statement_id, batch_id = excluded.batch_id, updated_at = now()
            where (s.currency, s.opening_minor, s.closing_minor, s.statement_id) is distinct from (excluded.currency, excluded.opening_minor, excluded.closing_minor, excluded.statement_id)
            """, connection, transaction);
        cmd.Parameters.Add(new() { Value = rows.Select(r => r.Provider).ToArray() });
        cmd.Parameters.Add(new() { Value = rows.Select(r => r.Account).ToArray() });
        cmd.Parameters.Add(new() { Value = rows.Select(r => r.Day).ToArray() });
        cmd.Parameters.Add(new() { Value = rows.Select(r => r.Currency).ToArray() });
        cmd.Parameters.Add(new() { Value = rows.Select(r => r.OpeningMinor).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        cmd.Parameters.Add(new() { Value = rows.Select(r => r.ClosingMinor).ToArray() });
        cmd.Parameters.Add(new() { Value = rows.Select(r => r.StatementId).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        cmd.Parameters.Add(new() { Value = Enumerable.Repeat(batchId, rows.Count).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Proves the statement days <paramref name="filter"/> selects (newest first, at most <see cref="MaxDays"/>) and brings
    /// their <c>balance_unproved</c> exceptions in line, in one transaction: a day that does not prove has one open
    /// exception whose amount is the difference; a day that proves has none. A day a person resolved is not opened again
    /// while its difference stays the one they resolved.
    /// </summary>
    public Task<IReadOnlyList<BalanceProof>> ProveAsync(BalanceFilter filter, bool withItems, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        return database.RunAsync<IReadOnlyList<BalanceProof>>(async (c, ct) =>
        {
            await using var tx = await c.BeginTransactionAsync(ct).ConfigureAwait(false);
            var days = await ReadDaysAsync(c, tx, filter, ct).ConfigureAwait(false);
            if (days.Count == 0)
            {
                await tx.CommitAsync(ct).ConfigureAwait(false);
                return [];
            }
            var proofs = await ComputeAsync(c, tx, days, withItems, ct).ConfigureAwait(false);
            await SyncExceptionsAsync(c, tx, proofs, ct).ConfigureAwait(false);
            await tx.CommitAsync(ct).ConfigureAwait(false);
            return proofs;
        }, cancellationToken);
    }

    private sealed record StatementDay(string Provider, string Account, DateOnly Day, string Currency, long Closing, long Anchor, DateOnly AnchorDay);

    private static async Task<List<StatementDay>> ReadDaysAsync(NpgsqlConnection c, NpgsqlTransaction tx, BalanceFilter filter, CancellationToken ct)
    {
        // the anchor: the earliest statement of the account (its opening balance, or its closing one from the next day on)
        await using var cmd = new NpgsqlCommand("""
            select b.provider, b.account, b.day, b.currency, b.closing_minor, a.anchor, a.anchor_day
            from statement_balances b
            cross join lateral (
                select coalesce(f.opening_minor, f.closing_minor) as anchor, case when f.opening_minor is null then f.day + 1 else f.day end as anchor_day
                from statement_balances f where f.provider = b.provider and f.account = b.account order by f.day limit 1) a
            where ($1::text is null or b.account = $1) and ($2::date is null or b.day = $2) and ($3::text is null or b.provider = $3)
            order by b.day desc, b.provider, b.account
            limit $4
            """, c, tx);
        cmd.Parameters.Add(new() { Value = (object?)filter.Account ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        cmd.Parameters.Add(new() { Value = filter.Day is { } d ? d : DBNull.Value, NpgsqlDbType = NpgsqlDbType.Date });
        cmd.Parameters.Add(new() { Value = (object?)filter.Provider ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        cmd.Parameters.Add(new() { Value = MaxDays });
        var days = new List<StatementDay>();
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false))
        {
            days.Add(new StatementDay(r.GetString(0), r.GetString(1), r.GetFieldValue<DateOnly>(2), r.GetString(3).Trim(), r.GetInt64(4), r.GetInt64(5), r.GetFieldValue<DateOnly>(6)));
        }
        return days;
    }

    private async Task<List<BalanceProof>> ComputeAsync(NpgsqlConnection c, NpgsqlTransaction tx, List<StatementDay> days, bool withItems, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("""
            select s.i,
                   (select coalesce(sum(l.amount_minor), 0)::bigint from ledger_entries l
                    where l.account ~ s.re and l.currency = s.cur and l.value_date between s.anchor_day and s.day),
                   op.total, op.items::text, ol.total, ol.items::text
            from unnest($1::int[], $2::text[], $3::text[], $4::date[], $5::text[], $6::date[], $7::text[]) s(i, provider, account, day, cur, anchor_day, re)
            cross join lateral (
                select coalesce(sum(pt.amount_minor), 0)::bigint as total,
                       case when $8 then coalesce(jsonb_agg(jsonb_build_object('id', pt.provider_tx_id, 'amountMinor', pt.amount_minor,
                           'description', coalesce(pt.remittance, pt.bank_reference, ''), 'valueDate', coalesce(pt.booking_date, pt.value_date))
                           order by coalesce(pt.booking_date, pt.value_date), pt.provider_tx_id), '[]'::jsonb) end as items
                from provider_transactions pt
                where pt.provider = s.provider and pt.account = s.account and pt.status = 'posted' and pt.currency = s.cur
                  and coalesce(pt.booking_date, pt.value_date) between s.anchor_day and s.day
                  and not exists (select 1 from reconciliation_results r where r.provider = pt.provider and r.provider_tx_id = pt.provider_tx_id and r.outcome = 'matched'
                                  and not exists (select 1 from ledger_entries m where m.id = any(r.ledger_ids) and m.value_date > s.day))) op
            cross join lateral (
                select coalesce(sum(l.amount_minor), 0)::bigint as total,
                       case when $8 then coalesce(jsonb_agg(jsonb_build_object('id', l.id, 'amountMinor', l.amount_minor,
                           'description', coalesce(l.description, l.reference, ''), 'valueDate', l.value_date) order by l.value_date, l.id), '[]'::jsonb) end as items
                from ledger_entries l
                where l.account ~ s.re and l.currency = s.cur and l.value_date between s.anchor_day and s.day
                  and not exists (select 1 from reconciliation_results r join provider_transactions m on m.provider = r.provider and m.provider_tx_id = r.provider_tx_id
                                  where r.outcome = 'matched' and r.ledger_ids @> array[l.id] and m.status = 'posted'
                                    and coalesce(m.booking_date, m.value_date) <= s.day)) ol
            order by s.i
            """, c, tx);
        cmd.Parameters.Add(new() { Value = Enumerable.Range(0, days.Count).ToArray() });
        cmd.Parameters.Add(new() { Value = days.Select(d => d.Provider).ToArray() });
        cmd.Parameters.Add(new() { Value = days.Select(d => d.Account).ToArray() });
        cmd.Parameters.Add(new() { Value = days.Select(d => d.Day).ToArray() });
        cmd.Parameters.Add(new() { Value = days.Select(d => d.Currency).ToArray() });
        cmd.Parameters.Add(new() { Value = days.Select(d => d.AnchorDay).ToArray() });
        cmd.Parameters.Add(new() { Value = days.Select(d => LedgerPattern(options.BalancePrefixesFor(d.Provider, d.Account))).ToArray() });
        cmd.Parameters.Add(new() { Value = withItems });
        var proofs = new List<BalanceProof>(days.Count);
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false))
        {
            var d = days[r.GetInt32(0)];
            proofs.Add(new BalanceProof(d.Provider, d.Account, d.Day, d.Currency, d.Closing, d.Anchor + r.GetInt64(1), r.GetInt64(2), r.GetInt64(4),
                withItems ? Items(r.GetString(3)) : null, withItems ? Items(r.GetString(5)) : null));
        }
        return proofs;
    }

    private static async Task SyncExceptionsAsync(NpgsqlConnection c, NpgsqlTransaction tx, List<BalanceProof> proofs, CancellationToken ct)
    {
        // one statement: close the open exception of a day that proves, move the amount of one whose difference changed (its
        // etag changes with it: a reviewer's stale resolve is refused), open one for a newly unproved day
        await using var cmd = new NpgsqlCommand("""
            with p as (select * from unnest($1::text[], $2::text[], $3::date[], $4::bigint[], $5::text[]) p(provider, account, day, diff, currency)),
            closed as (
                update exceptions e set status = 'resolved', resolved_at = now()
                from p where p.diff = 0 and e.kind = 'balance_unproved' and e.status = 'open' and e.provider = p.provider and e.account = p.account and e.statement_day = p.day
                returning e.id),
            moved as (
                update exceptions e set amount_minor = p.diff
                from p where p.diff <> 0 and e.kind = 'balance_unproved' and e.status = 'open' and e.provider = p.provider and e.account = p.account and e.statement_day = p.day
                  and e.amount_minor <> p.diff
                returning e.id)
            insert into exceptions (kind, provider, account, statement_day, reason, amount_minor, currency)
            select 'balance_unproved', p.provider, p.account, p.day, $6, p.diff, p.currency from p
            where p.diff <> 0
              and not exists (select 1 from exceptions e where e.kind = 'balance_unproved' and e.provider = p.provider and e.account = p.account and e.statement_day = p.day
                              and (e.status = 'open' or (e.resolved_by is not null and e.amount_minor = p.diff)))
            on conflict do nothing
            """, c, tx);
        cmd.Parameters.Add(new() { Value = proofs.Select(p => p.Provider).ToArray() });
        cmd.Parameters.Add(new() { Value = proofs.Select(p => p.Account).ToArray() });
        cmd.Parameters.Add(new() { Value = proofs.Select(p => p.Day).ToArray() });
        cmd.Parameters.Add(new() { Value = proofs.Select(p => p.DifferenceMinor).ToArray() });
        cmd.Parameters.Add(new() { Value = proofs.Select(p => p.Currency).ToArray() });
        cmd.Parameters.Add(new() { Value = UnprovedReason });
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    /// <summary>A PostgreSQL regular expression matching account names that start with one of <paramref name="prefixes"/>.</summary>
    internal static string LedgerPattern(IEnumerable<string> prefixes)
    {
        var pattern = new StringBuilder("^(?:");
        var first = true;
        foreach (var prefix in prefixes)
        {
            if (!first)
            {
                pattern.Append('|');
            }
            first = false;
            foreach (var ch in prefix)
            {
                // an ASCII punctuation character escaped is itself; letters and digits are taken as they are
                if (ch < 128 && !char.IsAsciiLetterOrDigit(ch))
                {
                    pattern.Append('\\');
                }
                pattern.Append(ch);
            }
        }
        return pattern.Append(')').ToString();
    }

    private static List<OpenItem> Items(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.EnumerateArray().Select(e => new OpenItem(e.GetProperty("id").GetString()!, e.GetProperty("amountMinor").GetInt64(),
            e.GetProperty("description").GetString() ?? "", DateOnly.ParseExact(e.GetProperty("valueDate").GetString()!, "yyyy-MM-dd", CultureInfo.InvariantCulture))).ToList();
    }
}

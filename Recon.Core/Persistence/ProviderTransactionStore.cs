using Npgsql;
using NpgsqlTypes;
using Recon.Core.Domain;

namespace Recon.Core.Persistence;

/// <summary>
/// Writes provider transactions and sync cursors inside the caller's transaction, so rows and the cursor that
/// produced them commit together. Idempotent on (provider, provider_tx_id): writing the same page twice leaves the
/// same rows, and an unchanged row is not rewritten.
/// </summary>
public static class ProviderTransactionStore
{
    /// <summary>Inserts or updates <paramref name="rows"/>; within one call the last row per id wins. Returns rows written.</summary>
    public static async Task<int> UpsertAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<ProviderTransaction> rows, string? batchId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rows);
        // ON CONFLICT cannot touch one row twice in a statement: keep the last version of each id
        var last = new Dictionary<(string, string), ProviderTransaction>();
        foreach (var r in rows)
        {
            if (!Providers.IsKnown(r.Provider))
            {
                throw new ArgumentException($"{r.ProviderTxId}: unknown provider '{r.Provider}'", nameof(rows));
            }
            last[(r.Provider, r.ProviderTxId)] = r;
        }
        if (last.Count == 0)
        {
            return 0;
        }
        var list = last.Values.ToList();
        await using var cmd = new NpgsqlCommand("""
            insert into provider_transactions as t (provider, provider_tx_id, account, amount_minor, fee_minor, currency, booking_date,
                value_date, bank_reference, end_to_end_id, remittance, group_id, status, raw, batch_id)
            select p, id, acct, amt, fee, ccy, bdate, vdate, bref, e2e, rem, grp, st, raw::jsonb, @batch
            from unnest(@p, @id, @acct, @amt, @fee, @ccy, @bdate, @vdate, @bref, @e2e, @rem, @grp, @st, @raw)
                as u(p, id, acct, amt, fee, ccy, bdate, vdate, bref, e2e, rem, grp, st, raw)
            on conflict (provider, provider_tx_id) do update set
                account = excluded.account, amount_minor = excluded.amount_minor, fee_minor = excluded.fee_minor,
                currency = excluded.currency, booking_date = excluded.booking_date, value_date = excluded.value_date,
                bank_reference = excluded.bank_reference, end_to_end_id = excluded.end_to_end_id, remittance = excluded.remittance,
                group_id = excluded.group_id, status = excluded.status, raw = excluded.raw,
                batch_id = coalesce(excluded.batch_id, t.batch_id), updated_at = now()
            where (t.account, t.amount_minor, t.fee_minor, t.currency, t.booking_date, t.value_date, t.bank_reference,
                   t.end_to_end_id, t.remittance, t.group_id, t.status, t.raw)
                is distinct from (excluded.account, excluded.amount_minor, excluded.fee_minor, excluded.currency, excluded.booking_date,
                   excluded.value_date, excluded.bank_reference, excluded.end_to_end_id, excluded.remittance, excluded.group_id,
                   excluded.status, excluded.raw)
            """, connection, transaction);
        cmd.Parameters.Add(new NpgsqlParameter<string[]>("p", list.Select(r => r.Provider).ToArray()));
        cmd.Parameters.Add(new NpgsqlParameter<string[]>("id", list.Select(r => r.ProviderTxId).ToArray()));
        cmd.Parameters.Add(new NpgsqlParameter<string[]>("acct", list.Select(r => r.Account).ToArray()));
        cmd.Parameters.Add(new NpgsqlParameter<long[]>("amt", list.Select(r => r.AmountMinor).ToArray()));
        cmd.Parameters.Add(new NpgsqlParameter<long[]>("fee", list.Select(r => r.FeeMinor).ToArray()));
        cmd.Parameters.Add(new NpgsqlParameter<string[]>("ccy", list.Select(r => r.Currency).ToArray()));
        cmd.Parameters.Add(new NpgsqlParameter<DateOnly?[]>("bdate", list.Select(r => r.BookingDate).ToArray()) { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Date });
        cmd.Parameters.Add(new NpgsqlParameter<DateOnly[]>("vdate", list.Select(r => r.ValueDate).ToArray()) { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Date });
        cmd.Parameters.Add(new NpgsqlParameter<string?[]>("bref", list.Select(r => r.BankReference).ToArray()) { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        cmd.Parameters.Add(new NpgsqlParameter<string?[]>("e2e", list.Select(r => r.EndToEndId).ToArray()) { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        cmd.Parameters.Add(new NpgsqlParameter<string?[]>("rem", list.Select(r => r.Remittance).ToArray()) { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        cmd.Parameters.Add(new NpgsqlParameter<string?[]>("grp", list.Select(r => r.GroupId).ToArray()) { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        cmd.Parameters.Add(new NpgsqlParameter<string[]>("st", list.Select(r => StatusText(r.Status)).ToArray()));
        cmd.Parameters.Add(new NpgsqlParameter<string?[]>("raw", list.Select(r => r.RawJson).ToArray()) { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        cmd.Parameters.Add(new NpgsqlParameter("batch", NpgsqlDbType.Text) { Value = (object?)batchId ?? DBNull.Value });
        return await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Marks withdrawn transactions (Plaid <c>removed</c>) as status 'removed'; the rows stay for audit. Unknown ids are ignored:
    /// a pending transaction added and removed within one sync never reached the table.</summary>
    public static async Task<int> RetireAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string provider, IReadOnlyList<string> providerTxIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(providerTxIds);
        if (providerTxIds.Count == 0)
        {
            return 0;
        }
        await using var cmd = new NpgsqlCommand(
            "update provider_transactions set status = 'removed', updated_at = now() where provider = @p and provider_tx_id = any(@ids) and status <> 'removed'",
            connection, transaction);
        cmd.Parameters.Add(new NpgsqlParameter<string>("p", provider));
        cmd.Parameters.Add(new NpgsqlParameter<string[]>("ids", providerTxIds.ToArray()));
        return await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The stored sync cursor, or null when the item was never synced.</summary>
    public static async Task<string?> GetCursorAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string provider, string cursorKey, CancellationToken cancellationToken)
    {
        await using var cmd = new NpgsqlCommand("select cursor from provider_cursors where provider = @p and cursor_key = @k", connection, transaction);
        cmd.Parameters.Add(new NpgsqlParameter<string>("p", provider));
        cmd.Parameters.Add(new NpgsqlParameter<string>("k", cursorKey));
        return await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
    }

    /// <summary>Stores the cursor in the caller's transaction, beside the rows it produced.</summary>
    public static async Task SetCursorAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string provider, string cursorKey, string cursor, CancellationToken cancellationToken)
    {
        await using var cmd = new NpgsqlCommand("""
            insert into provider_cursors (provider, cursor_key, cursor) values (@p, @k, @c)
            on conflict (provider, cursor_key) do update set cursor = excluded.cursor, updated_at = now()
            """, connection, transaction);
        cmd.Parameters.Add(new NpgsqlParameter<string>("p", provider));
        cmd.Parameters.Add(new NpgsqlParameter<string>("k", cursorKey));
        cmd.Parameters.Add(new NpgsqlParameter<string>("c", cursor));
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    internal static string StatusText(ProviderTransactionStatus status) => status switch
    {
        ProviderTransactionStatus.Posted => "posted",
        ProviderTransactionStatus.Pending => "pending",
        ProviderTransactionStatus.Removed => "removed",
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, "unknown status"),
    };
}

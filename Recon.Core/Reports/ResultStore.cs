using System.Globalization;
using System.Text;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using Recon.Core.Persistence;

namespace Recon.Core.Reports;

/// <summary>Which verdicts to read (all optional), keyset-paged on (provider, provider transaction id).</summary>
public sealed record ResultFilter(string? RunId, string? Provider, string? Account, string? Outcome, DateOnly? Day, int Limit, ResultCursor? After);

/// <summary>Where a page of results ends: the last (provider, provider transaction id) it held.</summary>
public sealed record ResultCursor(string Provider, string ProviderTxId)
{
    /// <summary>Opaque to the caller: base64url of the two keys.</summary>
    public string Encode() => Convert.ToBase64String(Encoding.UTF8.GetBytes(Provider + "\n" + ProviderTxId)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static ResultCursor? TryDecode(string text)
    {
        try
        {
            var b64 = text.Replace('-', '+').Replace('_', '/');
            var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(b64.PadRight(b64.Length + ((4 - (b64.Length % 4)) % 4), '=')));
            var parts = decoded.Split('\n');
            return parts.Length == 2 && parts[0].Length > 0 ? new ResultCursor(parts[0], parts[1]) : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }
}

/// <summary>One verdict with its item and evidence.</summary>
public sealed record ResultRow(string Provider, string ProviderTxId, string Account, DateOnly Day, long AmountMinor, string Currency, string Outcome, int Score,
    string[] LedgerIds, JsonElement Evidence, string? RunId, string Reason, string Rule, long DifferenceMinor, string DecidedBy, string? BatchId, string Etag);

/// <summary>Counts and amounts of one provider account in one currency: matched, proposed, open (ambiguous, unmatched,
/// duplicate) and undecided (a posted transaction without a verdict yet). Amounts are absolute: a volume, never a net.</summary>
public sealed record ReportLine(string Provider, string Account, string Currency, long MatchedCount, long MatchedMinor, long ProposedCount, long ProposedMinor,
    long OpenCount, long OpenMinor, long UndecidedCount, long UndecidedMinor);

/// <summary>Every verdict per item (paged and as a stream) and the daily and per-run reports, read from PostgreSQL.</summary>
public sealed class ResultStore(DatabaseBulkhead database)
{
    /// <summary>Most results one page returns: as <see cref="Review.ReviewStore.MaxPageSize"/>; an export streams the rest.</summary>
    public const int MaxPageSize = 500;

    /// <summary>Rows an export reads per query: large enough that the round trips do not show, small enough that one page
    /// (a few MB) is all an export holds and no query holds a connection for long.</summary>
    public const int ExportPageSize = 5_000;

    public static IReadOnlyList<string> Outcomes { get; } = ["matched", "proposed", "ambiguous", "unmatched", "duplicate"];

    /// <summary>One page of <paramref name="filter"/>; <c>Next</c> is the cursor of the page after it, or null.</summary>
    public Task<(List<ResultRow> Rows, ResultCursor? Next)> PageAsync(ResultFilter filter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        return database.RunAsync(async (c, ct) =>
        {
            await using var cmd = new NpgsqlCommand($$"""
                select r.provider, r.provider_tx_id, pt.account, pt.value_date, pt.amount_minor, pt.currency, r.outcome, r.score, r.ledger_ids,
                       coalesce(r.evidence, '{}'::jsonb)::text, b.run_id, r.reason, r.rule, r.difference_minor, r.decided_by, r.batch_id, {{Review.ReviewStore.VerdictEtagSqlOf}}
                from reconciliation_results r
                join provider_transactions pt on pt.provider = r.provider and pt.provider_tx_id = r.provider_tx_id
                left join batches b on b.batch_id = r.batch_id
                where ($1::text is null or r.batch_id in (select batch_id from batches where run_id = $1))
                  and ($2::text is null or r.provider = $2)
                  and ($3::text is null or pt.account = $3)
                  and ($4::text is null or r.outcome = $4)
                  and ($5::date is null or pt.value_date = $5)
                  and ($6::text is null or (r.provider, r.provider_tx_id) > ($6, $7))
                order by r.provider, r.provider_tx_id
                limit $8
                """, c);
            cmd.Parameters.Add(new() { Value = (object?)filter.RunId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
            cmd.Parameters.Add(new() { Value = (object?)filter.Provider ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
            cmd.Parameters.Add(new() { Value = (object?)filter.Account ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
            cmd.Parameters.Add(new() { Value = (object?)filter.Outcome ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
            cmd.Parameters.Add(new() { Value = filter.Day is { } d ? d : DBNull.Value, NpgsqlDbType = NpgsqlDbType.Date });
            cmd.Parameters.Add(new() { Value = (object?)filter.After?.Provider ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
            cmd.Parameters.Add(new() { Value = (object?)filter.After?.ProviderTxId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
            cmd.Parameters.Add(new() { Value = filter.Limit + 1 });
            var rows = new List<ResultRow>(Math.Min(filter.Limit, ExportPageSize));
            var more = false;
            await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await r.ReadAsync(ct).ConfigureAwait(false))
            {
                if (rows.Count == filter.Limit)
                {
                    more = true;
                    break;
                }
                using var evidence = JsonDocument.Parse(r.GetString(9));
                rows.Add(new ResultRow(r.GetString(0), r.GetString(1), r.GetString(2), r.GetFieldValue<DateOnly>(3), r.GetInt64(4), r.GetString(5).Trim(), r.GetString(6),
                    r.GetInt32(7), r.GetFieldValue<string[]>(8), evidence.RootElement.Clone(), r.IsDBNull(10) ? null : r.GetString(10), r.GetString(11), r.GetString(12),
                    r.GetInt64(13), r.GetString(14), r.IsDBNull(15) ? null : r.GetString(15), r.GetString(16)));
            }
            return (rows, more && rows.Count > 0 ? new ResultCursor(rows[^1].Provider, rows[^1].ProviderTxId) : null);
        }, cancellationToken);
    }

    /// <summary>Every result of <paramref name="filter"/> (its limit and cursor ignored), in key order, a page at a time.</summary>
    public async IAsyncEnumerable<ResultRow> AllAsync(ResultFilter filter, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        var page = filter with { Limit = ExportPageSize, After = null };
        while (true)
        {
            var (rows, next) = await PageAsync(page, cancellationToken).ConfigureAwait(false);
            foreach (var row in rows)
            {
                yield return row;
            }
            if (next is null)
            {
                yield break;
            }
            page = page with { After = next };
        }
    }

    /// <summary>The day's posted provider transactions (by value date) by provider, account and currency.</summary>
    public Task<List<ReportLine>> DailyAsync(DateOnly day, CancellationToken cancellationToken = default)
        => LinesAsync("""
            from provider_transactions pt
            left join reconciliation_results r on r.provider = pt.provider and r.provider_tx_id = pt.provider_tx_id
            where pt.status = 'posted' and pt.value_date = $1
            """, day, NpgsqlDbType.Date, cancellationToken);

    /// <summary>The verdicts the batches of <paramref name="runId"/> posted, by provider, account and currency; null when
    /// there is no such run.</summary>
    public async Task<List<ReportLine>?> RunAsync(string runId, CancellationToken cancellationToken = default)
    {
        var known = await database.RunAsync(async (c, ct) =>
        {
            await using var cmd = new NpgsqlCommand("select exists (select 1 from runs where run_id = $1) or exists (select 1 from batches where run_id = $1)", c);
            cmd.Parameters.Add(new() { Value = runId });
            return (bool)(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
        }, cancellationToken).ConfigureAwait(false);
        return known
            ? await LinesAsync("""
                from reconciliation_results r
                join provider_transactions pt on pt.provider = r.provider and pt.provider_tx_id = r.provider_tx_id
                where r.batch_id in (select batch_id from batches where run_id = $1)
                """, runId, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false)
            : null;
    }

    private Task<List<ReportLine>> LinesAsync(string from, object key, NpgsqlDbType keyType, CancellationToken cancellationToken)
        => database.RunAsync(async (c, ct) =>
        {
            await using var cmd = new NpgsqlCommand($"""
                select pt.provider, pt.account, pt.currency,
                       count(*) filter (where r.outcome = 'matched'), coalesce(sum(abs(pt.amount_minor)) filter (where r.outcome = 'matched'), 0)::bigint,
                       count(*) filter (where r.outcome = 'proposed'), coalesce(sum(abs(pt.amount_minor)) filter (where r.outcome = 'proposed'), 0)::bigint,
                       count(*) filter (where r.outcome in ('ambiguous', 'unmatched', 'duplicate')),
                       coalesce(sum(abs(pt.amount_minor)) filter (where r.outcome in ('ambiguous', 'unmatched', 'duplicate')), 0)::bigint,
                       count(*) filter (where r.outcome is null), coalesce(sum(abs(pt.amount_minor)) filter (where r.outcome is null), 0)::bigint
                {from}
                group by 1, 2, 3
                order by 1, 2, 3
                """, c);
            cmd.Parameters.Add(new() { Value = key, NpgsqlDbType = keyType });
            var lines = new List<ReportLine>();
            await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await r.ReadAsync(ct).ConfigureAwait(false))
            {
                lines.Add(new ReportLine(r.GetString(0), r.GetString(1), r.GetString(2).Trim(), r.GetInt64(3), r.GetInt64(4), r.GetInt64(5), r.GetInt64(6),
                    r.GetInt64(7), r.GetInt64(8), r.GetInt64(9), r.GetInt64(10)));
            }
            return lines;
        }, cancellationToken);

    internal static string Day(DateOnly d) => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
}

using System.Globalization;
using System.Text;
using Npgsql;
using Recon.Core.Matching;

namespace Recon.Core.Pipeline;

/// <summary>Batches of a set of runs by status.</summary>
/// <param name="ByStatus">Count per status (queued, running, late, done, failed).</param>
/// <param name="Total">All batches.</param>
/// <param name="Late">Batches that ran past their window (finished or not).</param>
public sealed record BatchStatusCounts(IReadOnlyDictionary<string, int> ByStatus, int Total, int Late)
{
    public int Count(string status) => ByStatus.GetValueOrDefault(status);

    /// <summary>Every batch is done or failed.</summary>
    public bool AllFinished => Total > 0 && Count(BatchStatuses.Done) + Count(BatchStatuses.Failed) == Total;

    public string Format()
        => string.Join(", ", new[] { BatchStatuses.Queued, BatchStatuses.Running, BatchStatuses.Late, BatchStatuses.Done, BatchStatuses.Failed }
            .Select(s => $"{s} {Count(s)}")) + $" (of {Total}; {Late} ran late)";
}

/// <summary>One run's batches by status (what <c>recon status</c> prints per run and the web page's runs overview lists).</summary>
/// <param name="RunId">The run (<c>-</c> for batches without one).</param>
/// <param name="FirstQueuedAt">When its first batch was queued.</param>
/// <param name="LastFinishedAt">When its last finished batch finished (null while none has).</param>
/// <param name="Total">All its batches.</param>
/// <param name="Queued">Batches waiting in a queue.</param>
/// <param name="Running">Batches running, late ones still running included.</param>
/// <param name="Done">Batches done.</param>
/// <param name="Failed">Batches failed.</param>
/// <param name="Late">Batches that ran past their window (finished or not).</param>
/// <param name="LastFailure">The last error of a failed batch, if any.</param>
public sealed record RunBatchesRow(string RunId, DateTimeOffset FirstQueuedAt, DateTimeOffset? LastFinishedAt, int Total, int Queued, int Running, int Done, int Failed, int Late, string? LastFailure);

/// <summary>Verdicts of one provider's transactions.</summary>
public sealed record ProviderResultsRow(string Provider, int Transactions, int Matched, int Proposed, int Ambiguous, int Unmatched, int Duplicates, int OpenExceptions);

/// <summary>Batch timings of one priority class, seconds: latency from queued to finished, run time from started to finished.</summary>
public sealed record BatchLatencyRow(string PriorityClass, int Batches, double LatencyP50, double LatencyP99, double RunP50, double RunP99, double RunMax);

/// <summary>Provider calls of one provider's batches.</summary>
public sealed record ProviderCallsRow(string Provider, int Batches, int Calls, int Throttled, int TokenWaits);

/// <summary>Stored verdicts against ground truth.</summary>
/// <param name="TruthRows">Provider transactions the truth knows.</param>
/// <param name="TruthPairs">Truth rows that should match something.</param>
/// <param name="WithResult">Truth rows that have a stored verdict.</param>
/// <param name="Matched">Stored matched verdicts on truth rows.</param>
/// <param name="CorrectMatched">Matched verdicts whose ledger ids equal the truth's.</param>
/// <param name="CorrectProposed">Proposed verdicts (left for a person) whose ledger ids equal the truth's.</param>
/// <param name="WrongExamples">Up to 10 wrong matches, for the log.</param>
public sealed record TruthComparison(int TruthRows, int TruthPairs, int WithResult, int Matched, int CorrectMatched, int CorrectProposed, IReadOnlyList<string> WrongExamples)
{
    /// <summary>Truth pairs that are matched or proposed with the right ledger entries: what a reviewer confirms at most one click from.</summary>
    public double Coverage => TruthPairs == 0 ? 1.0 : (double)(CorrectMatched + CorrectProposed) / TruthPairs;

    public double Precision => Matched == 0 ? 1.0 : (double)CorrectMatched / Matched;

    public double Recall => TruthPairs == 0 ? 1.0 : (double)CorrectMatched / TruthPairs;
}

/// <summary>
/// What <c>recon status</c>, <c>recon report</c> and <c>recon demo</c> print, read from PostgreSQL: batch status,
/// verdicts per provider, batch latency by priority, provider calls, and a comparison with ground truth. Scoped to a
/// set of runs, or to everything when none are given.
/// </summary>
public static class PipelineReport
{
    /// <summary>Most runs one listing returns: the newest first.</summary>
    public const int MaxRuns = 200;

    /// <summary>The newest <paramref name="limit"/> runs (or the runs named), newest first, with their batches by status.</summary>
    public static async Task<IReadOnlyList<RunBatchesRow>> RunsAsync(NpgsqlConnection connection, IReadOnlyList<string>? runIds, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        await using var cmd = new NpgsqlCommand("""
            select coalesce(b.run_id, '-'), min(b.queued_at), max(b.finished_at), count(*)::int,
                   count(*) filter (where b.status = 'queued')::int, count(*) filter (where b.status in ('running', 'late'))::int,
                   count(*) filter (where b.status = 'done')::int, count(*) filter (where b.status = 'failed')::int,
                   count(*) filter (where b.late)::int, max(b.last_error) filter (where b.status = 'failed')
            from batches b where ($1::text[] is null or b.run_id = any($1))
            group by b.run_id order by min(b.queued_at) desc limit $2
            """, connection);
        cmd.Parameters.Add(RunsParameter(runIds));
        cmd.Parameters.Add(new() { Value = Math.Clamp(limit, 1, MaxRuns) });
        var rows = new List<RunBatchesRow>();
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows.Add(new RunBatchesRow(r.GetString(0), r.GetFieldValue<DateTimeOffset>(1), r.IsDBNull(2) ? null : r.GetFieldValue<DateTimeOffset>(2),
                r.GetInt32(3), r.GetInt32(4), r.GetInt32(5), r.GetInt32(6), r.GetInt32(7), r.GetInt32(8), r.IsDBNull(9) ? null : r.GetString(9)));
        }
        return rows;
    }

    public static Task<BatchStatusCounts> StatusAsync(NpgsqlDataSource dataSource, IReadOnlyList<string>? runIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        return StatusAsync(dataSource.CreateCommand, runIds, cancellationToken);
    }

    /// <summary>The same on an open connection (a host's bulkhead slot).</summary>
    public static Task<BatchStatusCounts> StatusAsync(NpgsqlConnection connection, IReadOnlyList<string>? runIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return StatusAsync(sql => new NpgsqlCommand(sql, connection), runIds, cancellationToken);
    }

    private static async Task<BatchStatusCounts> StatusAsync(Func<string, NpgsqlCommand> command, IReadOnlyList<string>? runIds, CancellationToken cancellationToken)
    {
        await using var cmd = command("""
            select status, count(*)::int, count(*) filter (where late)::int from batches
            where ($1::text[] is null or run_id = any($1)) group by status
            """);
        cmd.Parameters.Add(RunsParameter(runIds));
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        int total = 0, late = 0;
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            counts[r.GetString(0)] = r.GetInt32(1);
            total += r.GetInt32(1);
            late += r.GetInt32(2);
        }
        return new BatchStatusCounts(counts, total, late);
    }

    public static Task<IReadOnlyList<ProviderResultsRow>> ResultsAsync(NpgsqlDataSource dataSource, IReadOnlyList<string>? runIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        return ResultsAsync(dataSource.CreateCommand, runIds, cancellationToken);
    }

    /// <summary>The same on an open connection (a host's bulkhead slot).</summary>
    public static Task<IReadOnlyList<ProviderResultsRow>> ResultsAsync(NpgsqlConnection connection, IReadOnlyList<string>? runIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return ResultsAsync(sql => new NpgsqlCommand(sql, connection), runIds, cancellationToken);
    }

    private static async Task<IReadOnlyList<ProviderResultsRow>> ResultsAsync(Func<string, NpgsqlCommand> command, IReadOnlyList<string>? runIds, CancellationToken cancellationToken)
    {
        await using var cmd = command("""
            select r.provider, count(*)::int,
                   count(*) filter (where r.outcome = 'matched')::int, count(*) filter (where r.outcome = 'proposed')::int,
                   count(*) filter (where r.outcome = 'ambiguous')::int, count(*) filter (where r.outcome = 'unmatched')::int,
                   count(*) filter (where r.outcome = 'duplicate')::int,
                   count(e.id)::int
            from reconciliation_results r
            join batches b on b.batch_id = r.batch_id
            left join exceptions e on e.kind = 'provider_transaction' and e.status = 'open' and e.provider = r.provider and e.provider_tx_id = r.provider_tx_id
            where ($1::text[] is null or b.run_id = any($1))
            group by r.provider order by r.provider
            """);
        cmd.Parameters.Add(RunsParameter(runIds));
        var rows = new List<ProviderResultsRow>();
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows.Add(new ProviderResultsRow(r.GetString(0), r.GetInt32(1), r.GetInt32(2), r.GetInt32(3), r.GetInt32(4), r.GetInt32(5), r.GetInt32(6), r.GetInt32(7)));
        }
        return rows;
    }

    public static Task<IReadOnlyList<BatchLatencyRow>> LatencyAsync(NpgsqlDataSource dataSource, IReadOnlyList<string>? runIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        return LatencyAsync(dataSource.CreateCommand, runIds, cancellationToken);
    }

    /// <summary>The same on an open connection (a host's bulkhead slot).</summary>
    public static Task<IReadOnlyList<BatchLatencyRow>> LatencyAsync(NpgsqlConnection connection, IReadOnlyList<string>? runIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return LatencyAsync(sql => new NpgsqlCommand(sql, connection), runIds, cancellationToken);
    }

    private static async Task<IReadOnlyList<BatchLatencyRow>> LatencyAsync(Func<string, NpgsqlCommand> command, IReadOnlyList<string>? runIds, CancellationToken cancellationToken)
    {
        await using var cmd = command("""
            select case when priority = 0 then 'high (0)' else 'low (1-10)' end as class, count(*)::int,
                   percentile_cont(0.5) within group (order by extract(epoch from finished_at - queued_at)),
                   percentile_cont(0.99) within group (order by extract(epoch from finished_at - queued_at)),
                   percentile_cont(0.5) within group (order by extract(epoch from finished_at - started_at)),
                   percentile_cont(0.99) within group (order by extract(epoch from finished_at - started_at)),
                   max(extract(epoch from finished_at - started_at))::float8
            from batches
            where status = 'done' and started_at is not null and finished_at is not null and ($1::text[] is null or run_id = any($1))
            group by 1 order by 1
            """);
        cmd.Parameters.Add(RunsParameter(runIds));
        var rows = new List<BatchLatencyRow>();
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows.Add(new BatchLatencyRow(r.GetString(0), r.GetInt32(1), r.GetDouble(2), r.GetDouble(3), r.GetDouble(4), r.GetDouble(5), r.GetDouble(6)));
        }
        return rows;
    }

    public static Task<IReadOnlyList<ProviderCallsRow>> CallsAsync(NpgsqlDataSource dataSource, IReadOnlyList<string>? runIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        return CallsAsync(dataSource.CreateCommand, runIds, cancellationToken);
    }

    /// <summary>The same on an open connection (a host's bulkhead slot).</summary>
    public static Task<IReadOnlyList<ProviderCallsRow>> CallsAsync(NpgsqlConnection connection, IReadOnlyList<string>? runIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return CallsAsync(sql => new NpgsqlCommand(sql, connection), runIds, cancellationToken);
    }

    private static async Task<IReadOnlyList<ProviderCallsRow>> CallsAsync(Func<string, NpgsqlCommand> command, IReadOnlyList<string>? runIds, CancellationToken cancellationToken)
    {
        await using var cmd = command("""
            select provider, count(*)::int, sum(provider_calls)::int, sum(throttled)::int, sum(token_waits)::int
            from batches where ($1::text[] is null or run_id = any($1)) group by provider order by provider
            """);
        cmd.Parameters.Add(RunsParameter(runIds));
        var rows = new List<ProviderCallsRow>();
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows.Add(new ProviderCallsRow(r.GetString(0), r.GetInt32(1), r.GetInt32(2), r.GetInt32(3), r.GetInt32(4)));
        }
        return rows;
    }

    /// <summary>Compares the stored verdicts of the truth's transactions with the truth (ledger ids as sets).</summary>
    public static async Task<TruthComparison> CompareAsync(NpgsqlDataSource dataSource, IReadOnlyList<MatchTruth> truth, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentNullException.ThrowIfNull(truth);
        var stored = new Dictionary<(string, string), (string Outcome, string[] LedgerIds)>();
        foreach (var provider in truth.Select(t => t.Provider).Distinct(StringComparer.Ordinal))
        {
            await using var cmd = dataSource.CreateCommand("select provider_tx_id, outcome, ledger_ids from reconciliation_results where provider = $1 and provider_tx_id = any($2)");
            cmd.Parameters.Add(new() { Value = provider });
            cmd.Parameters.Add(new() { Value = truth.Where(t => t.Provider == provider).Select(t => t.ProviderTxId).ToArray() });
            await using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                stored[(provider, r.GetString(0))] = (r.GetString(1), r.GetFieldValue<string[]>(2));
            }
        }
        int pairs = 0, withResult = 0, matched = 0, correct = 0, proposedRight = 0;
        var wrong = new List<string>();
        foreach (var t in truth)
        {
            if (t.LedgerIds.Count > 0)
            {
                pairs++;
            }
            if (!stored.TryGetValue((t.Provider, t.ProviderTxId), out var s))
            {
                continue;
            }
            withResult++;
            var same = s.LedgerIds.Order(StringComparer.Ordinal).SequenceEqual(t.LedgerIds.Order(StringComparer.Ordinal), StringComparer.Ordinal);
            if (s.Outcome == "proposed" && same && t.LedgerIds.Count > 0)
            {
                proposedRight++;
            }
            if (s.Outcome != "matched")
            {
                continue;
            }
            matched++;
            if (same)
            {
                correct++;
            }
            else if (wrong.Count < 10)
            {
                wrong.Add($"{t.Provider}:{t.ProviderTxId} matched [{string.Join(';', s.LedgerIds)}], truth [{string.Join(';', t.LedgerIds)}]");
            }
        }
        return new TruthComparison(truth.Count, pairs, withResult, matched, correct, proposedRight, wrong);
    }

    /// <summary>The three report tables as aligned text.</summary>
    public static string Format(IReadOnlyList<ProviderResultsRow> results, IReadOnlyList<BatchLatencyRow> latency, IReadOnlyList<ProviderCallsRow> calls)
    {
        ArgumentNullException.ThrowIfNull(results);
        ArgumentNullException.ThrowIfNull(latency);
        ArgumentNullException.ThrowIfNull(calls);
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine(c, $"{"provider",-8} {"transactions",12} {"matched",8} {"proposed",8} {"ambiguous",9} {"unmatched",9} {"duplicate",9} {"exceptions",10}");
        foreach (var r in results)
        {
            sb.AppendLine(c, $"{r.Provider,-8} {r.Transactions,12} {r.Matched,8} {r.Proposed,8} {r.Ambiguous,9} {r.Unmatched,9} {r.Duplicates,9} {r.OpenExceptions,10}");
        }
        sb.AppendLine(c, $"{"total",-8} {results.Sum(r => r.Transactions),12} {results.Sum(r => r.Matched),8} {results.Sum(r => r.Proposed),8} {results.Sum(r => r.Ambiguous),9} {results.Sum(r => r.Unmatched),9} {results.Sum(r => r.Duplicates),9} {results.Sum(r => r.OpenExceptions),10}");
        sb.AppendLine();
        sb.AppendLine(c, $"{"priority",-11} {"batches",7} {"latency P50",11} {"P99",7} {"run P50",8} {"P99",7} {"max",7}   (seconds; latency = queued→done, run = started→done)");
        foreach (var l in latency)
        {
            sb.AppendLine(c, $"{l.PriorityClass,-11} {l.Batches,7} {l.LatencyP50,11:0.00} {l.LatencyP99,7:0.00} {l.RunP50,8:0.00} {l.RunP99,7:0.00} {l.RunMax,7:0.00}");
        }
        sb.AppendLine();
        sb.AppendLine(c, $"{"provider",-8} {"batches",7} {"calls",6} {"429s",5} {"token waits",11}");
        foreach (var p in calls)
        {
            sb.AppendLine(c, $"{p.Provider,-8} {p.Batches,7} {p.Calls,6} {p.Throttled,5} {p.TokenWaits,11}");
        }
        return sb.ToString();
    }

    private static NpgsqlParameter RunsParameter(IReadOnlyList<string>? runIds)
        => new() { Value = runIds is null || runIds.Count == 0 ? DBNull.Value : runIds.ToArray(), NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Text };
}

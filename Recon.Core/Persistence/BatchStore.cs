using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using Recon.Core.Pipeline;

namespace Recon.Core.Persistence;

/// <summary>One row of <c>batches</c>, as status and report read it.</summary>
public sealed record BatchRow(
    string BatchId, string? RunId, string Provider, string Account, int Priority, string Status, bool Late, int Attempts,
    string? LastError, DateTimeOffset QueuedAt, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt,
    int ProviderCalls, int Throttled, int TokenWaits, int? Transactions);

/// <summary>A batch the dispatcher looks at, with how often it was queued or restarted already.</summary>
public sealed record WatchedBatch(BatchWork Work, int Requeues);

/// <summary>
/// The <c>batches</c> table: every batch's status (queued, running, late, done, failed), timings, attempts and last
/// error. Every write is idempotent, because activities re-run after a crash.
/// </summary>
/// <remarks>Each call is one short statement through the bulkhead: no session state, safe behind PgBouncer.</remarks>
public sealed class BatchStore(DatabaseBulkhead bulkhead)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Records the run's request once; true when this call created it.</summary>
    public Task<bool> RecordRunAsync(string runId, ReconciliationRequest request, CancellationToken cancellationToken = default)
        => bulkhead.RunAsync(async (c, ct) =>
        {
            await using var cmd = new NpgsqlCommand("insert into runs (run_id, request) values ($1, $2) on conflict do nothing", c);
            cmd.Parameters.Add(new() { Value = runId });
            cmd.Parameters.Add(new() { Value = JsonSerializer.Serialize(request, Json), NpgsqlDbType = NpgsqlDbType.Jsonb });
            return await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 1;
        }, cancellationToken);

    /// <summary>The intake finished the run: it planned <paramref name="planned"/> first-page batches and queued
    /// <paramref name="enqueued"/> of them.</summary>
    public Task RecordPlannedAsync(string runId, int planned, int enqueued, CancellationToken cancellationToken = default)
        => bulkhead.RunAsync(async (c, ct) =>
        {
            await using var cmd = new NpgsqlCommand("update runs set planned = $2, enqueued = $3 where run_id = $1", c);
            cmd.Parameters.Add(new() { Value = runId });
            cmd.Parameters.Add(new() { Value = planned });
            cmd.Parameters.Add(new() { Value = enqueued });
            await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }, cancellationToken);

    /// <summary>A run as the intake left it: null when there is no such run; planned and enqueued are null while the
    /// intake has not finished it (a crash in between: the next delivery of the request finishes it).</summary>
    public Task<(int? Planned, int? Enqueued)?> GetRunAsync(string runId, CancellationToken cancellationToken = default)
        => bulkhead.RunAsync<(int? Planned, int? Enqueued)?>(async (c, ct) =>
        {
            await using var cmd = new NpgsqlCommand("select planned, enqueued from runs where run_id = $1", c);
            cmd.Parameters.Add(new() { Value = runId });
            await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            if (!await r.ReadAsync(ct).ConfigureAwait(false))
            {
                return null;
            }
            return (r.IsDBNull(0) ? null : r.GetInt32(0), r.IsDBNull(1) ? null : r.GetInt32(1));
        }, cancellationToken);

    /// <summary>Inserts the batches as queued (existing rows are left alone) and returns those still queued, i.e. the
    /// ones to put on a queue: a batch already running or finished is not enqueued again.</summary>
    public Task<IReadOnlyList<BatchWork>> InsertQueuedAsync(IReadOnlyList<BatchWork> batches, CancellationToken cancellationToken = default)
        => bulkhead.RunAsync<IReadOnlyList<BatchWork>>(async (c, ct) =>
        {
            var queued = new List<BatchWork>();
            await using var tx = await c.BeginTransactionAsync(ct).ConfigureAwait(false);
            foreach (var b in batches)
            {
                await using var cmd = new NpgsqlCommand("""
                    insert into batches (batch_id, run_id, provider, account, priority, value_minor, currency, request, sequence)
                    values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                    on conflict (batch_id) do update set batch_id = excluded.batch_id
                    returning status
                    """, c, tx);
                cmd.Parameters.Add(new() { Value = b.BatchId });
                cmd.Parameters.Add(new() { Value = b.RunId });
                cmd.Parameters.Add(new() { Value = b.Page.Provider });
                cmd.Parameters.Add(new() { Value = b.Page.Account });
                cmd.Parameters.Add(new() { Value = (short)b.Priority });
                cmd.Parameters.Add(new() { Value = Math.Abs(b.ValueMinor) });
                cmd.Parameters.Add(new() { Value = b.Currency });
                cmd.Parameters.Add(new() { Value = JsonSerializer.Serialize(b, Json), NpgsqlDbType = NpgsqlDbType.Jsonb });
                cmd.Parameters.Add(new() { Value = b.Sequence });
                var status = (string)(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
                if (status == BatchStatuses.Queued)
                {
                    queued.Add(b);
                }
            }
            await tx.CommitAsync(ct).ConfigureAwait(false);
            return queued;
        }, cancellationToken);

    /// <summary>Status of one batch, or null when unknown.</summary>
    public Task<string?> GetStatusAsync(string batchId, CancellationToken cancellationToken = default)
        => bulkhead.RunAsync(async (c, ct) =>
        {
            await using var cmd = new NpgsqlCommand("select status from batches where batch_id = $1", c);
            cmd.Parameters.Add(new() { Value = batchId });
            return (string?)await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false);
        }, cancellationToken);

    /// <summary>The dispatcher hands these batches to runners: those still queued become running (in flight from now on)
    /// in one statement; returns the ids it moved. An id not returned is a duplicate message (running or finished) or has
    /// no row.</summary>
    public Task<IReadOnlySet<string>> MarkDispatchedAsync(IReadOnlyList<string> batchIds, CancellationToken cancellationToken = default)
        => bulkhead.RunAsync<IReadOnlySet<string>>(async (c, ct) =>
        {
            await using var cmd = new NpgsqlCommand("""
                update batches set status = 'running', dispatched_at = now(), watched_at = null
                where batch_id = any($1) and status = 'queued'
                returning batch_id
                """, c);
            cmd.Parameters.Add(new() { Value = batchIds.ToArray() });
            var moved = new HashSet<string>(StringComparer.Ordinal);
            await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await r.ReadAsync(ct).ConfigureAwait(false))
            {
                moved.Add(r.GetString(0));
            }
            return moved;
        }, cancellationToken);

    /// <summary>A running batch that stopped making progress (its runner died with a worker) goes back to queued, counted as
    /// a revival; false when it finished or moved on meanwhile.</summary>
    public Task<bool> ReturnToQueueAsync(string batchId, CancellationToken cancellationToken = default)
        => bulkhead.RunAsync(async (c, ct) =>
        {
            await using var cmd = new NpgsqlCommand("""
                update batches set status = 'queued', requeues = requeues + 1, requeued_at = now(), watched_at = null
                where batch_id = $1 and status in ('running', 'late')
                """, c);
            cmd.Parameters.Add(new() { Value = batchId });
            return await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 1;
        }, cancellationToken);

    /// <summary>The orchestration began: running (unless it already finished), start time kept from the first begin.</summary>
    public Task<string> BeginAsync(string batchId, DateTime startedAtUtc, CancellationToken cancellationToken = default)
        => bulkhead.RunAsync(async (c, ct) =>
        {
            await using var cmd = new NpgsqlCommand("""
                update batches set
                    status = case when status in ('done', 'failed') then status when status = 'late' then 'late' else 'running' end,
                    started_at = coalesce(started_at, $2),
                    dispatched_at = coalesce(dispatched_at, $2)
                where batch_id = $1
                returning status
                """, c);
            cmd.Parameters.Add(new() { Value = batchId });
            cmd.Parameters.Add(new() { Value = DateTime.SpecifyKind(startedAtUtc, DateTimeKind.Utc) });
            return (string?)await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"Batch {batchId} is not in the batches table; it must be enqueued through the pipeline.");
        }, cancellationToken);

    /// <summary>Counts a provider call attempt (attempts and provider_calls) before it is made.</summary>
    public Task RecordFetchAttemptAsync(string batchId, CancellationToken cancellationToken = default)
        => ExecAsync("update batches set attempts = attempts + 1, provider_calls = provider_calls + 1 where batch_id = $1", batchId, cancellationToken);

    /// <summary>Keeps the last error of a failed attempt (the batch may still succeed on retry).</summary>
    public Task RecordErrorAsync(string batchId, string error, CancellationToken cancellationToken = default)
        => bulkhead.RunAsync(async (c, ct) =>
        {
            await using var cmd = new NpgsqlCommand("update batches set last_error = $2 where batch_id = $1", c);
            cmd.Parameters.Add(new() { Value = batchId });
            cmd.Parameters.Add(new() { Value = Truncate(error) });
            await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }, cancellationToken);

    /// <summary>Applies a late / done / failed transition. Done and failed are final; late only marks a running batch.</summary>
    public Task ApplyAsync(BatchStatusUpdate update, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(update);
        var sql = update.Status switch
        {
            BatchStatuses.Late => "update batches set status = 'late', late = true where batch_id = $1 and status in ('queued', 'running')",
            BatchStatuses.Done or BatchStatuses.Failed => """
                update batches set status = $3, finished_at = coalesce(finished_at, $2), last_error = coalesce($4, last_error),
                    token_waits = greatest(token_waits, $5), throttled = greatest(throttled, $6),
                    transactions = coalesce($7, transactions), summary = coalesce($8, summary)
                where batch_id = $1 and status not in ('done', 'failed')
                """,
            _ => throw new ArgumentException($"'{update.Status}' is not a status an orchestration records (late, done, failed).", nameof(update)),
        };
        return bulkhead.RunAsync(async (c, ct) =>
        {
            await using var cmd = new NpgsqlCommand(sql, c);
            cmd.Parameters.Add(new() { Value = update.BatchId });
            if (update.Status != BatchStatuses.Late)
            {
                cmd.Parameters.Add(new() { Value = DateTime.SpecifyKind(update.AtUtc, DateTimeKind.Utc) });
                cmd.Parameters.Add(new() { Value = update.Status });
                cmd.Parameters.Add(new() { Value = (object?)(update.Error is null ? null : Truncate(update.Error)) ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
                cmd.Parameters.Add(new() { Value = update.TokenWaits });
                cmd.Parameters.Add(new() { Value = update.Throttled });
                cmd.Parameters.Add(new() { Value = (object?)update.Summary?.Transactions ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Integer });
                cmd.Parameters.Add(new() { Value = update.Summary is null ? DBNull.Value : JsonSerializer.Serialize(update.Summary, Json), NpgsqlDbType = NpgsqlDbType.Jsonb });
            }
            await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }, cancellationToken);
    }

    /// <summary>
    /// Batches still <c>queued</c> <paramref name="olderThan"/> after they were queued (or last queued again), at most
    /// <paramref name="limit"/>, oldest first; marks each as queued again now so the next sweep leaves it alone for as long.
    /// </summary>
    public async Task<IReadOnlyList<BatchWork>> TakeStrandedAsync(TimeSpan olderThan, int limit, CancellationToken cancellationToken = default)
        => (await TakeRequestsAsync("""
            update batches b set requeued_at = now(), requeues = b.requeues + 1
            from (select batch_id from batches
                  where status = 'queued' and request is not null and coalesce(requeued_at, queued_at) < now() - $1
                  order by priority, queued_at, batch_id limit $2
                  for update skip locked) s
            where b.batch_id = s.batch_id
            returning b.request::text, b.requeues
            """, olderThan, limit, cancellationToken).ConfigureAwait(false)).Select(w => w.Work).ToList();

    /// <summary>
    /// Batches running (or late) for more than <paramref name="olderThan"/> since they were dispatched, began, or were last
    /// looked at, at most <paramref name="limit"/>, oldest first; marks each as looked at now, so the next sweep leaves it
    /// alone for as long. Whether one is stuck is for its orchestration's state to say (<see cref="Pipeline.OrchestrationLiveness"/>).
    /// </summary>
    public Task<IReadOnlyList<WatchedBatch>> TakeLongRunningAsync(TimeSpan olderThan, int limit, CancellationToken cancellationToken = default)
        => TakeRequestsAsync("""
            update batches b set watched_at = now()
            from (select batch_id from batches
                  where status in ('running', 'late') and request is not null
                    and greatest(dispatched_at, started_at, watched_at) < now() - $1
                  order by priority, greatest(dispatched_at, started_at, watched_at), batch_id limit $2
                  for update skip locked) s
            where b.batch_id = s.batch_id
            returning b.request::text, b.requeues
            """, olderThan, limit, cancellationToken);

    /// <summary>Counts a restart (or an end) of a stuck batch's orchestration; <paramref name="lookAgainNow"/> clears the
    /// last look, so the next round (not the next period) restarts an orchestration it just ended.</summary>
    public Task RecordRevivalAsync(string batchId, bool lookAgainNow, CancellationToken cancellationToken = default)
        => bulkhead.RunAsync(async (c, ct) =>
        {
            await using var cmd = new NpgsqlCommand("""
                update batches set requeues = requeues + 1, requeued_at = now(),
                    watched_at = case when $2 then null else watched_at end
                where batch_id = $1
                """, c);
            cmd.Parameters.Add(new() { Value = batchId });
            cmd.Parameters.Add(new() { Value = lookAgainNow });
            await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }, cancellationToken);

    /// <summary>Runs an update that marks up to $2 batches older than $1 and returns their requests and requeue counts.</summary>
    private Task<IReadOnlyList<WatchedBatch>> TakeRequestsAsync(string sql, TimeSpan olderThan, int limit, CancellationToken cancellationToken)
        => bulkhead.RunAsync<IReadOnlyList<WatchedBatch>>(async (c, ct) =>
        {
            await using var cmd = new NpgsqlCommand(sql, c);
            cmd.Parameters.Add(new() { Value = olderThan });
            cmd.Parameters.Add(new() { Value = limit });
            var found = new List<WatchedBatch>();
            await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await r.ReadAsync(ct).ConfigureAwait(false))
            {
                var work = JsonSerializer.Deserialize<BatchWork>(r.GetString(0), Json)
                    ?? throw new InvalidOperationException("batches.request holds null");
                found.Add(new WatchedBatch(work, r.GetInt32(1)));
            }
            return found;
        }, cancellationToken);

    /// <summary>Batches in flight (running or late), high (priority 0) and low.</summary>
    public Task<(int High, int Low)> CountInFlightAsync(CancellationToken cancellationToken = default)
        => bulkhead.RunAsync(async (c, ct) =>
        {
            await using var cmd = new NpgsqlCommand("""
                select count(*) filter (where priority = 0)::int, count(*) filter (where priority > 0)::int
                from batches where status in ('running', 'late')
                """, c);
            await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            await r.ReadAsync(ct).ConfigureAwait(false);
            return (r.GetInt32(0), r.GetInt32(1));
        }, cancellationToken);

    /// <summary>Batches not yet done or failed (queued, running, late): while there are any, the dispatcher keeps polling.</summary>
    public Task<long> CountUnfinishedAsync(CancellationToken cancellationToken = default)
        => bulkhead.RunAsync(async (c, ct) =>
        {
            await using var cmd = new NpgsqlCommand("select count(*) from batches where status not in ('done', 'failed')", c);
            return (long)(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
        }, cancellationToken);

    /// <summary>Every batch of a run (or of all runs when <paramref name="runId"/> is null), oldest first.</summary>
    public Task<IReadOnlyList<BatchRow>> ListAsync(string? runId, CancellationToken cancellationToken = default)
        => bulkhead.RunAsync<IReadOnlyList<BatchRow>>(async (c, ct) =>
        {
            await using var cmd = new NpgsqlCommand("""
                select batch_id, run_id, provider, account, priority, status, late, attempts, last_error, queued_at, started_at,
                       finished_at, provider_calls, throttled, token_waits, transactions
                from batches where ($1::text is null or run_id = $1) order by queued_at, batch_id
                """, c);
            cmd.Parameters.Add(new() { Value = (object?)runId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
            var rows = new List<BatchRow>();
            await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await r.ReadAsync(ct).ConfigureAwait(false))
            {
                rows.Add(new BatchRow(r.GetString(0), r.IsDBNull(1) ? null : r.GetString(1), r.GetString(2), r.GetString(3), r.GetInt16(4),
                    r.GetString(5), r.GetBoolean(6), r.GetInt32(7), r.IsDBNull(8) ? null : r.GetString(8), r.GetFieldValue<DateTimeOffset>(9),
                    r.IsDBNull(10) ? null : r.GetFieldValue<DateTimeOffset>(10), r.IsDBNull(11) ? null : r.GetFieldValue<DateTimeOffset>(11),
                    r.GetInt32(12), r.GetInt32(13), r.GetInt32(14), r.IsDBNull(15) ? null : r.GetInt32(15)));
            }
            return rows;
        }, cancellationToken);

    private Task ExecAsync(string sql, string batchId, CancellationToken cancellationToken)
        => bulkhead.RunAsync(async (c, ct) =>
        {
            await using var cmd = new NpgsqlCommand(sql, c);
            cmd.Parameters.Add(new() { Value = batchId });
            await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }, cancellationToken);

    /// <summary>Errors are kept to 2,000 characters: enough for a message and the start of a stack, not a log.</summary>
    private static string Truncate(string error) => error.Length <= 2000 ? error : error[..2000];
}

using System.Globalization;
using System.Net;
using Npgsql;
using Recon.Core.Hosting;
using Recon.Core.Persistence;

namespace Recon.Core.Pipeline;

/// <summary>
/// What <c>recon status</c> and <c>recon report</c> print, as JSON on both hosts: <c>GET /api/runs</c> (the newest runs with
/// their batches by status, and over those runs the batch latency by priority, provider calls and 429s, plus the database
/// connections now) and <c>GET /api/runs/{runId}/report</c> (one run: batches, verdicts per provider, latency, calls).
/// </summary>
/// <remarks>Read through the host's <see cref="DatabaseBulkhead"/>: one slot, one connection, like every other request.</remarks>
public sealed class RunsIntake(DatabaseBulkhead database)
{
    /// <summary>Runs listed when the caller names no limit: a screenful.</summary>
    public const int DefaultRuns = 20;

    public async Task<HostReply> ListAsync(IReadOnlyDictionary<string, string?> query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var errors = new List<string>();
        foreach (var key in query.Keys.Where(k => k != "limit"))
        {
            errors.Add($"{key}: unknown parameter (expected limit)");
        }
        var limit = DefaultRuns;
        if (query.TryGetValue("limit", out var text) && !string.IsNullOrWhiteSpace(text)
            && !(int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out limit) && limit is >= 1 and <= PipelineReport.MaxRuns))
        {
            errors.Add($"limit: '{Clip(text)}' is not an integer in 1..{PipelineReport.MaxRuns}");
        }
        if (errors.Count > 0)
        {
            return new HostReply(HttpStatusCode.BadRequest, new { errors });
        }
        return await database.RunAsync(async (c, ct) =>
        {
            var runs = await PipelineReport.RunsAsync(c, null, limit, ct).ConfigureAwait(false);
            // latency and calls over the runs listed, not the whole history: what the screen shows belongs together
            var ids = runs.Select(r => r.RunId).ToList();
            var status = ids.Count == 0 ? new BatchStatusCounts(new Dictionary<string, int>(), 0, 0) : await PipelineReport.StatusAsync(c, ids, ct).ConfigureAwait(false);
            var latency = ids.Count == 0 ? [] : await PipelineReport.LatencyAsync(c, ids, ct).ConfigureAwait(false);
            var calls = ids.Count == 0 ? [] : await PipelineReport.CallsAsync(c, ids, ct).ConfigureAwait(false);
            return new HostReply(HttpStatusCode.OK, new
            {
                runs,
                batches = status,
                latency,
                calls,
                connections = await ConnectionsAsync(c, ct).ConfigureAwait(false),
            });
        }, cancellationToken).ConfigureAwait(false);
    }

    public async Task<HostReply> ReportAsync(string runId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(runId);
        if (!ReconciliationRequests.IsValidRunId(runId))
        {
            return new HostReply(HttpStatusCode.NotFound, new { error = $"no run '{Clip(runId)}'" });
        }
        return await database.RunAsync(async (c, ct) =>
        {
            IReadOnlyList<string> ids = [runId];
            var run = (await PipelineReport.RunsAsync(c, ids, 1, ct).ConfigureAwait(false)).SingleOrDefault();
            if (run is null)
            {
                return new HostReply(HttpStatusCode.NotFound, new { error = $"no batches for run '{Clip(runId)}'" });
            }
            return new HostReply(HttpStatusCode.OK, new
            {
                run,
                batches = await PipelineReport.StatusAsync(c, ids, ct).ConfigureAwait(false),
                results = await PipelineReport.ResultsAsync(c, ids, ct).ConfigureAwait(false),
                latency = await PipelineReport.LatencyAsync(c, ids, ct).ConfigureAwait(false),
                calls = await PipelineReport.CallsAsync(c, ids, ct).ConfigureAwait(false),
            });
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Server connections to this database now (what PostgreSQL sees behind PgBouncer), its limit, and this
    /// host's own pool: slots in use, peak and capacity.</summary>
    private async Task<object> ConnectionsAsync(NpgsqlConnection c, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(
            "select count(*)::int, current_setting('max_connections')::int from pg_stat_activity where datname = current_database()", c);
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await r.ReadAsync(ct).ConfigureAwait(false);
        return new
        {
            serverConnections = r.GetInt32(0),
            maxConnections = r.GetInt32(1),
            poolInUse = database.InUse,
            poolPeakInUse = database.PeakInUse,
            poolCapacity = database.Capacity,
        };
    }

    private static string Clip(string v) => v.Length <= 80 ? v : v[..80] + "…";
}

using System.Globalization;
using System.Text.Json;
using Azure.Storage.Queues;
using Npgsql;
using Recon.Core.Domain;
using Recon.Core.Pipeline;
using Recon.Core.Queues;

namespace Recon.Bench.Spike;

/// <summary>What the product mode needs from the bench: its database, sandbox and Redis, and how many workers.</summary>
/// <param name="Workers">Recon.Worker processes on the one task hub.</param>
/// <param name="WorkerDll">The built Recon.Worker.dll.</param>
/// <param name="Redis">Redis configuration (the run gets its own key prefix).</param>
/// <param name="Inherited">Settings passed on to every worker as they are (e.g. Recon:Matching, Recon:ConnectionBudget), as environment names.</param>
public sealed record ProductModeSettings(int Workers, string WorkerDll, string Redis, IReadOnlyDictionary<string, string> Inherited);

/// <summary>
/// The "after" column is the product: <see cref="ProductModeSettings.Workers"/> real Recon.Worker processes on one task
/// hub of the mode's own Azurite, with the bench's database (through PgBouncer), a Redis key prefix of the run's own and
/// the bench's Stripe sandbox at its live limits. Each job arrives, on the workload's schedule, as a <c>recon-ingest</c>
/// message (a Stripe <c>payout.paid</c> event for the job's day, its value the job's: one job = one run = one batch = one
/// page); from there the product's own intake, dispatcher, orchestrations and activities do everything. Completion and
/// latency are read from the product's <c>batches</c> table, engine work from each worker's <c>/api/metrics/durable</c>.
/// </summary>
public sealed class ProductMode : ISpikeMode, ISpikeModeLifecycle, ISpikeModeCost
{
    /// <summary>How often the batches table is read for finished batches: 200 ms, well under the latencies measured.</summary>
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(200);

    /// <summary>How long the warm-up batch (before the clock) may take: the first orchestration on a new hub waits for its
    /// partition lease (DURABLE-NOTES: ~15 s), more on a loaded machine.</summary>
    private static readonly TimeSpan WarmUpTimeout = TimeSpan.FromSeconds(180);

    private const string WarmUpRunId = "spike-warmup";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly SpikeDatabase _database;
    private readonly SandboxStripeHost _sandbox;
    private readonly ProductModeSettings _settings;
    private readonly QueueServiceClient _queues;
    private readonly string _storage;
    private readonly List<WorkerProcess> _workers = [];
    private WorkerMetrics _before = WorkerMetrics.Empty;
    private WorkerMetrics? _used;
    private WorkerMetrics? _idle;
    private double _idleSeconds;
    private List<(bool High, double QueuedToDone)> _queuedToDone = [];
    private string _logDir = "";

    public ProductMode(SpikeDatabase database, SandboxStripeHost sandbox, ProductModeSettings settings, QueueServiceClient queues, string storageConnectionString)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.Workers, 1);
        _database = database;
        _sandbox = sandbox;
        _settings = settings;
        _queues = queues;
        _storage = storageConnectionString;
    }

    public string Name => "recon";

    public string Description =>
        $"the product: {_settings.Workers} Recon.Worker process{(_settings.Workers == 1 ? "" : "es")} on one Durable task hub (own Azurite), jobs as recon-ingest messages, its dispatcher, orchestrations and activities, Redis token bucket, PgBouncer";

    /// <summary>Starts the workers and runs one warm-up batch through them before the clock starts (a new hub's first
    /// orchestration waits for its partition lease; the run must not measure that), then removes its traces.</summary>
    public async Task<IAsyncDisposable> StartAsync(Action<string> log, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(log);
        _logDir = Path.Combine(Path.GetTempPath(), $"recon-spike-workers-{Guid.NewGuid():N}"[..36]);
        Directory.CreateDirectory(_logDir);
        var hub = "spike" + Guid.NewGuid().ToString("N")[..10];
        var settings = new Dictionary<string, string>(_settings.Inherited, StringComparer.Ordinal)
        {
            ["Recon__Database__ConnectionString"] = _database.ViaPgBouncer,
            ["Recon__Redis__Configuration"] = _settings.Redis,
            ["Recon__RateLimits__KeyPrefix"] = $"recon:spike:{Guid.NewGuid():N}",
            ["Recon__Storage__ConnectionString"] = _storage,
            ["Recon__Worker__TaskHubName"] = hub,
            ["Recon__Providers__Stripe__ApiBase"] = _sandbox.BaseUrl,
            ["Recon__Providers__Stripe__ApiKey"] = _sandbox.StripeApiKey,
        };
        var lifetime = new Workers(this);
        try
        {
            for (var i = 0; i < _settings.Workers; i++)
            {
                var worker = await WorkerProcess.StartAsync(_settings.WorkerDll, settings, Path.Combine(_logDir, $"worker-{i}.log"), cancellationToken).ConfigureAwait(false);
                _workers.Add(worker);
                log($"{Name}: Recon.Worker {i + 1}/{_settings.Workers} pid {worker.ProcessId} on 127.0.0.1:{worker.Port}, task hub {hub} (log {worker.LogPath})");
            }
            await WarmUpAsync(log, cancellationToken).ConfigureAwait(false);
            await _sandbox.ResetCountersAsync(cancellationToken).ConfigureAwait(false);
            _before = WorkerMetrics.Sum(await Task.WhenAll(_workers.Select(w => w.MetricsAsync(cancellationToken))).ConfigureAwait(false));
            return lifetime;
        }
        catch
        {
            await lifetime.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task WarmUpAsync(Action<string> log, CancellationToken cancellationToken)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        // a day with no objects: the batch fetches an empty page and is done
        await SendAsync(Request(WarmUpRunId, new DateOnly(1999, 1, 4), 100, 0), cancellationToken).ConfigureAwait(false);
        await using var conn = new NpgsqlConnection(_database.Direct);
        await conn.OpenAsync(cancellationToken).ConfigureAwait(false);
        // bounded: WarmUpTimeout
        while (true)
        {
            await using (var cmd = new NpgsqlCommand("select status from batches where run_id = $1", conn))
            {
                cmd.Parameters.Add(new() { Value = WarmUpRunId });
                if (await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is "done" or "failed")
                {
                    break;
                }
            }
            if (clock.Elapsed > WarmUpTimeout)
            {
                throw new TimeoutException($"the warm-up batch did not finish within {WarmUpTimeout.TotalSeconds:0} s; last lines of {_workers[0].LogPath}:\n{_workers[0].Tail()}");
            }
            await Task.Delay(PollInterval, cancellationToken).ConfigureAwait(false);
        }
        foreach (var table in new[] { "batches", "runs" })
        {
            await using var clean = new NpgsqlCommand($"delete from {table} where run_id = $1", conn);
            clean.Parameters.Add(new() { Value = WarmUpRunId });
            await clean.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        log(string.Create(CultureInfo.InvariantCulture, $"{Name}: warm-up batch done in {clock.Elapsed.TotalSeconds:0.#} s (before the clock)"));
    }

    public async Task RunAsync(IReadOnlyList<SpikeJob> jobs, SpikeRecorder recorder, TimeSpan deadline, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        ArgumentNullException.ThrowIfNull(recorder);
        if (_workers.Count == 0)
        {
            throw new InvalidOperationException("StartAsync first: it starts the workers");
        }
        var byRun = jobs.ToDictionary(j => j.BatchId, StringComparer.Ordinal);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        stop.CancelAfter(deadline);
        var arrivals = Task.Run(() => SpikeArrivals.RunAsync(jobs, recorder,
            (job, ct) => SendAsync(Request(job.BatchId, SandboxStripeHost.DayOf(job), job.ValueMinor, job.Index), ct), stop.Token), CancellationToken.None);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        _queuedToDone = [];
        await using (var conn = new NpgsqlConnection(_database.Direct))
        {
            await conn.OpenAsync(cancellationToken).ConfigureAwait(false);
            // bounded: ends when every job has finished (completed or failed) or at the deadline
            while (!stop.IsCancellationRequested && seen.Count < jobs.Count)
            {
                try
                {
                    await Task.Delay(PollInterval, stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // the deadline: read once more below
                }
                await ReadFinishedAsync(conn, byRun, seen, recorder, cancellationToken).ConfigureAwait(false);
            }
        }
        await arrivals.ConfigureAwait(false);
        _used = WorkerMetrics.Sum(await Task.WhenAll(_workers.Select(w => w.MetricsAsync(cancellationToken))).ConfigureAwait(false)).Minus(_before);
        // the sandbox counted every call per second: the timeline's admitted and 429 figures
        foreach (var (second, ok, throttled) in await _sandbox.PerSecondAsync(cancellationToken).ConfigureAwait(false))
        {
            var at = recorder.At(second) + 0.5;
            for (var i = 0; i < ok; i++)
            {
                recorder.ProviderAnswered(at, throttled: false);
            }
            for (var i = 0; i < throttled; i++)
            {
                recorder.ProviderAnswered(at, throttled: true);
            }
        }
        foreach (var worker in _workers)
        {
            for (var i = 0; i < worker.DatabaseErrorLines(); i++)
            {
                recorder.DbError($"worker log: database exception (see {worker.LogPath})");
            }
        }
    }

    private async Task ReadFinishedAsync(NpgsqlConnection conn, Dictionary<string, SpikeJob> byRun, HashSet<string> seen, SpikeRecorder recorder, CancellationToken cancellationToken)
    {
        await using var cmd = new NpgsqlCommand("""
            select run_id, status, priority,
                   extract(epoch from queued_at)::float8, extract(epoch from finished_at)::float8
            from batches where status in ('done', 'failed') and finished_at is not null
            """, conn);
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var runId = reader.IsDBNull(0) ? "" : reader.GetString(0);
            if (!byRun.TryGetValue(runId, out var job) || !seen.Add(runId))
            {
                continue;
            }
            var finished = reader.GetDouble(4);
            if (reader.GetString(1) == "done")
            {
                recorder.Completed(job, recorder.At(finished));
                _queuedToDone.Add((reader.GetInt16(2) == 0, finished - reader.GetDouble(3)));
            }
            else
            {
                recorder.Failed(job, recorder.At(finished));
            }
        }
    }

    /// <summary>Adds what only the product has: the engine, the workers, engine work per batch and queued→done latency.</summary>
    public SpikeRunResult Complete(SpikeRunResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var used = _used ?? WorkerMetrics.Empty;
        var batches = Math.Max(1, result.BatchesCompleted + result.BatchesFailed);
        double Per(long n) => Math.Round((double)n / batches, 2);
        var high = _queuedToDone.Where(q => q.High).Select(q => q.QueuedToDone).ToList();
        var low = _queuedToDone.Where(q => !q.High).Select(q => q.QueuedToDone).ToList();
        return result with
        {
            Engine = "durable",
            Workers = _settings.Workers,
            PerBatch = new SpikePerBatch(
                result.BatchesCompleted + result.BatchesFailed,
                Per(used.ActivityExecutions),
                Per(used.OrchestrationEpisodes),
                Per(used.StorageRequestsTotal),
                used.StorageRequests.ToDictionary(s => s.Key, s => (IReadOnlyDictionary<string, double>)s.Value.Where(o => o.Value != 0)
                    .ToDictionary(o => o.Key, o => Per(o.Value), StringComparer.Ordinal), StringComparer.Ordinal),
                used.Activities.Where(a => a.Value != 0).ToDictionary(a => a.Key, a => Per(a.Value), StringComparer.Ordinal),
                used.Orchestrations.Where(o => o.Value != 0).ToDictionary(o => o.Key, o => Per(o.Value), StringComparer.Ordinal))
            {
                Totals = used,
            },
            P50QueuedToDoneSeconds = new HighLow(Math.Round(SpikeMath.Percentile(high, 50), 3), Math.Round(SpikeMath.Percentile(low, 50), 3)),
            P99QueuedToDoneSeconds = new HighLow(Math.Round(SpikeMath.Percentile(high, 99), 3), Math.Round(SpikeMath.Percentile(low, 99), 3)),
            WorkerLogs = _workers.Select(w => w.LogPath).ToList(),
        };
    }

    /// <summary>Watches the workers for <see cref="SpikeCost.IdleSample"/> after the run (no work left): what their
    /// counters move by then is the idle profile (Durable's control-queue and lease polling, the dispatcher's loop).</summary>
    public async Task SampleIdleAsync(Action<string> log, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(log);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var start = WorkerMetrics.Sum(await Task.WhenAll(_workers.Select(w => w.MetricsAsync(cancellationToken))).ConfigureAwait(false));
        await Task.Delay(SpikeCost.IdleSample, cancellationToken).ConfigureAwait(false);
        var end = WorkerMetrics.Sum(await Task.WhenAll(_workers.Select(w => w.MetricsAsync(cancellationToken))).ConfigureAwait(false));
        _idleSeconds = clock.Elapsed.TotalSeconds;
        _idle = end.Minus(start);
        log(string.Create(CultureInfo.InvariantCulture,
            $"{Name}: idle {_idleSeconds:0.#} s after the run: {_idle.ActivityExecutions} activities, {_idle.OrchestrationEpisodes} episodes, {_idle.StorageRequestsTotal} storage requests"));
    }

    /// <summary>
    /// The workers' own counts over the run (activities + episodes + one ingest trigger execution per job sent; storage
    /// by REST operation, plus the bench's sends to recon-ingest, which the product's webhook would make), billed as
    /// workers x run seconds (memory is not sampled); the idle profile is <see cref="SampleIdleAsync"/>'s counts per hour.
    /// </summary>
    public (Cost.SpikeCounts Counts, Cost.IdleProfile Idle) CostInputs(SpikeRunResult result, Cost.AzurePriceBook prices)
    {
        ArgumentNullException.ThrowIfNull(result);
        var used = _used ?? throw new InvalidOperationException($"{Name}: the run measured nothing (RunAsync first)");
        var idle = _idle ?? throw new InvalidOperationException($"{Name}: no idle sample (SampleIdleAsync first)");
        var counts = new Cost.SpikeCounts
        {
            Mode = Name,
            Jobs = result.Jobs,
            Batches = result.Jobs,
            BatchesCompleted = result.BatchesCompleted,
            ActivityExecutions = used.ActivityExecutions,
            OrchestrationEpisodes = used.OrchestrationEpisodes,
            FunctionExecutions = used.ActivityExecutions + used.OrchestrationEpisodes + result.Jobs,
            StorageRequests = SpikeCost.Merge(Cost.DurableOperationNames.ToRest(used.StorageRequests).Concat(SpikeCost.QueueCalls(result, prices))),
            RunSeconds = result.WallSeconds,
            Workers = _settings.Workers,
        };
        var perHour = 3600 / _idleSeconds;
        var profile = new Cost.IdleProfile
        {
            StorageRequestsPerHour = SpikeCost.Merge(Cost.DurableOperationNames.ToRest(idle.StorageRequests, perHour)),
            FunctionExecutionsPerHour = (long)Math.Round((idle.ActivityExecutions + idle.OrchestrationEpisodes) * perHour),
        };
        return (counts, profile);
    }

    /// <summary>A Stripe <c>payout.paid</c> event for <paramref name="day"/>: one run, one day, one page (the
    /// event's amount sets the batch's priority, as the product values events).</summary>
    private static ReconciliationRequest Request(string runId, DateOnly day, long valueMinor, int index)
        => new(Providers.Stripe, SandboxStripeHost.ProviderAccount, null, null,
            new ProviderEvent("payout.paid", string.Create(CultureInfo.InvariantCulture, $"po_spike{index:D7}"), day, valueMinor, "USD"),
            SandboxStripeHost.PageSize, runId);

    private Task SendAsync(ReconciliationRequest request, CancellationToken cancellationToken)
        => _queues.GetQueueClient(new PriorityQueueOptions().Ingest).SendMessageAsync(JsonSerializer.Serialize(request, Json), cancellationToken);

    /// <summary>Stops the workers (whole process trees) when the mode ends.</summary>
    private sealed class Workers(ProductMode mode) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            foreach (var worker in mode._workers)
            {
                await worker.DisposeAsync().ConfigureAwait(false);
            }
            mode._workers.Clear();
        }
    }
}

/// <summary>Engine work per batch of the product mode, from the workers' own counters.</summary>
/// <param name="Batches">Batches finished in the run (the divisor).</param>
/// <param name="ActivityExecutions">Activity executions per batch.</param>
/// <param name="OrchestrationEpisodes">Orchestration episodes per batch.</param>
/// <param name="StorageRequestsTotal">Storage requests (tries) per batch, all services.</param>
/// <param name="StorageRequests">The same by service (blob, queue, table) and operation.</param>
/// <param name="Activities">Executions per batch by activity.</param>
/// <param name="Orchestrations">Episodes per batch by orchestrator.</param>
public sealed record SpikePerBatch(
    int Batches,
    double ActivityExecutions,
    double OrchestrationEpisodes,
    double StorageRequestsTotal,
    IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> StorageRequests,
    IReadOnlyDictionary<string, double> Activities,
    IReadOnlyDictionary<string, double> Orchestrations)
{
    /// <summary>The raw counts over the run (every worker summed).</summary>
    public WorkerMetrics? Totals { get; init; }
}

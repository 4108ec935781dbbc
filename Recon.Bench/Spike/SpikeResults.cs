using System.Text.Json.Serialization;

namespace Recon.Bench.Spike;

/// <summary>A figure split by priority class.</summary>
public sealed record HighLow(double High, double Low);

/// <summary>The limits a run is judged against.</summary>
/// <param name="ProviderGlobalPerSecond">The sandbox's real global limit (Stripe: 100 req/s).</param>
/// <param name="ProviderEndpointPerSecond">The sandbox's real per-endpoint limit (Stripe: 25 req/s).</param>
/// <param name="AdmittedGlobalPerSecond">What Recon's token bucket admits overall (95% of the global limit).</param>
/// <param name="AdmittedEndpointPerSecond">What Recon's token bucket admits per endpoint (95% of 25).</param>
/// <param name="BatchWindowSeconds">Every batch must finish inside this window (30 s).</param>
/// <param name="ConfiguredPoolSize">PgBouncer's default_pool_size: the most server connections Recon may hold.</param>
public sealed record SpikeLimits(
    double ProviderGlobalPerSecond,
    double ProviderEndpointPerSecond,
    double AdmittedGlobalPerSecond,
    double AdmittedEndpointPerSecond,
    double BatchWindowSeconds,
    int ConfiguredPoolSize)
{
    public static SpikeLimits Stripe(int poolSize) => new(100, 25, 95, 25 * 0.95, 30, poolSize);

    /// <summary>The most Recon can admit when work waits on every one of <paramref name="endpoints"/> endpoints.</summary>
    public double AdmittedFor(int endpoints) => Math.Min(AdmittedGlobalPerSecond, endpoints * AdmittedEndpointPerSecond);
}

/// <summary>One second of a run, for the chart.</summary>
public sealed record SpikeSecond(
    int Second,
    int BacklogHigh,
    int BacklogLow,
    int ProviderAdmitted,
    [property: JsonPropertyName("provider_429")] int Provider429,
    double LatencyMaxHigh,
    double LatencyMaxLow,
    int DbServerConnections,
    int Completed)
{
    /// <summary>Storage-queue calls that ended in this second, by kind (<see cref="QueueCallKind"/>).</summary>
    public IReadOnlyDictionary<string, QueueSecond> QueueCalls { get; init; } = new Dictionary<string, QueueSecond>();

    /// <summary>CPU used by the mode's Azurite in this second, percent of one core (-1: not measured).</summary>
    public double AzuriteCpuPercent { get; init; } = -1;

    /// <summary>CPU used by the bench process (workers, clients) in this second, percent of one core.</summary>
    public double BenchCpuPercent { get; init; } = -1;

    /// <summary>The machine's 1-minute load average at the end of this second.</summary>
    public double LoadAverage1 { get; init; } = -1;
}

/// <summary>One kind of storage-queue call in one second: calls ended, extra tries, tries that hit the network
/// timeout, calls that failed in the end, median and longest call (retries included), in milliseconds.</summary>
public sealed record QueueSecond(int Calls, int Retries, int Timeouts, int Failed, double P50Ms, double MaxMs);

/// <summary>One kind of storage-queue call over a whole run: how many, how many extra tries the SDK made and how many
/// tries hit its network timeout, how many failed in the end, and the call latency (retries included) in milliseconds.</summary>
public sealed record QueueCallStats(int Calls, int Tries, int Retries, int Timeouts, int Failed, double P50Ms, double P99Ms, double MaxMs, double TotalSeconds)
{
    public static QueueCallStats Of(IReadOnlyCollection<QueueCall> calls)
    {
        ArgumentNullException.ThrowIfNull(calls);
        var ms = calls.Select(c => c.Milliseconds).ToList();
        var tries = calls.Sum(c => c.Tries);
        return new QueueCallStats(calls.Count, tries, tries - calls.Count, calls.Sum(c => c.Timeouts), calls.Count(c => c.Failed),
            Math.Round(SpikeMath.Percentile(ms, 50), 1), Math.Round(SpikeMath.Percentile(ms, 99), 1), Math.Round(ms.Count == 0 ? 0 : ms.Max(), 1),
            Math.Round(ms.Sum() / 1000, 1));
    }
}

/// <summary>CPU of the mode's Azurite over the run, percent of one core: mean and peak of the per-second samples, and
/// the seconds it spent at 90% of a core or more (-1 when not measured).</summary>
public sealed record AzuriteCpu(double MeanPercent, double PeakPercent, int SecondsAtOrAbove90Percent)
{
    public static AzuriteCpu Of(IReadOnlyList<ResourceSample> samples)
    {
        ArgumentNullException.ThrowIfNull(samples);
        var measured = samples.Where(s => s.AzuriteCpuPercent >= 0).Select(s => s.AzuriteCpuPercent).ToList();
        return measured.Count == 0
            ? new AzuriteCpu(-1, -1, -1)
            : new AzuriteCpu(Math.Round(measured.Average(), 1), Math.Round(measured.Max(), 1), measured.Count(c => c >= 90));
    }
}

/// <summary>One mode's figures, as written under <c>runs</c> in the JSON.</summary>
public sealed record SpikeRunResult
{
    public required string Mode { get; init; }
    public required string Description { get; init; }
    public int Jobs { get; init; }
    public int DbServerConnectionsPeak { get; init; }
    public int DbClientConnectionsPeak { get; init; }
    public int DbErrors { get; init; }
    public IReadOnlyDictionary<string, int> DbErrorKinds { get; init; } = new Dictionary<string, int>();
    public long ProviderRequests { get; init; }
    [JsonPropertyName("provider_429")]
    public long Provider429 { get; init; }
    public double ProviderSuccessRate { get; init; }
    public string ProviderCountsSource { get; init; } = "client";
    public required HighLow P50BatchSeconds { get; init; }
    public required HighLow P99BatchSeconds { get; init; }
    public required HighLow P99BurstBatchSeconds { get; init; }
    public double MaxBatchSeconds { get; init; }
    public int BatchesOverWindow { get; init; }
    public int BacklogPeak { get; init; }
    public int BacklogPeakHigh { get; init; }
    public double DrainSeconds { get; init; }
    /// <summary>Low-priority jobs that arrived in the burst and did not complete: when above 0 the backlog did not drain
    /// and <see cref="DrainSeconds"/> is the whole run from the burst's start.</summary>
    public int BurstLowUnfinished { get; init; }
    public double FloorSeconds { get; init; }
    public double FloorSecondsAtProviderLimits { get; init; }
    public double DrainOverFloor { get; init; }
    public double AdmittedRateWhileBacklogged { get; init; }
    /// <summary>What Recon's buckets admit with every endpoint busy: min(global, endpoints × per endpoint).</summary>
    public double AdmittedLimit { get; init; }
    public double AdmittedShareOfLimit { get; init; }
    public int BackloggedSeconds { get; init; }
    public int BatchesCompleted { get; init; }
    public int BatchesFailed { get; init; }
    /// <summary>Jobs neither completed nor failed when the mode ended: not completed by the run's hard end
    /// (<see cref="DeadlineSeconds"/>), still queued, leased or in flight then. Zero when every job finished.</summary>
    public int BatchesUnfinishedAtDeadline { get; init; }
    /// <summary>The run's hard end: the last arrival plus the drain allowance, in seconds from the start.</summary>
    public double DeadlineSeconds { get; init; }
    /// <summary>Whether the run was stopped by its hard end rather than by every job finishing.</summary>
    public bool EndedAtDeadline { get; init; }
    /// <summary>Which Azurite the mode's queues lived on.</summary>
    public string Azurite { get; init; } = "";
    public int BatchesCompletedMoreThanOnce { get; init; }
    public int DbCompletedRows { get; init; }
    public double WallSeconds { get; init; }
    /// <summary>Every storage-queue call the mode's workers made during the run, by kind (<see cref="QueueCallMeter"/>).</summary>
    public IReadOnlyDictionary<string, QueueCallStats> QueueCalls { get; init; } = new Dictionary<string, QueueCallStats>();
    /// <summary>The same calls' tries (each billed) by the REST API's operation name: what the cost model prices.</summary>
    public IReadOnlyDictionary<string, long> QueueOperations { get; init; } = new Dictionary<string, long>();
    /// <summary>CPU of the mode's own Azurite over the run.</summary>
    public AzuriteCpu AzuriteCpu { get; init; } = new(-1, -1, -1);
    /// <summary>The machine's 1-minute load average at the first and the last second of the run.</summary>
    public double LoadAverageAtStart { get; init; } = -1;
    public double LoadAverageAtEnd { get; init; } = -1;
    /// <summary>"durable" when the product's orchestrations ran the mode (null for the naive mode, which has no engine).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Engine { get; init; }
    /// <summary>Recon.Worker processes on the task hub (product mode).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? Workers { get; init; }
    /// <summary>Engine work per batch, from the workers' own counters (product mode).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public SpikePerBatch? PerBatch { get; init; }
    /// <summary>queued_at → finished_at of done batches in the product's batches table, by priority (product mode).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public HighLow? P50QueuedToDoneSeconds { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public HighLow? P99QueuedToDoneSeconds { get; init; }
    /// <summary>Where each worker's log was written (product mode).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<string>? WorkerLogs { get; init; }
    /// <summary>What the spike week and an idle day would cost on Azure from this run's measured counts
    /// (<see cref="Cost.CostModel"/>; null when the mode completed no batch).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Cost.CostEstimate? Cost { get; init; }
    public IReadOnlyList<SpikeSecond> Timeline { get; init; } = [];
}

/// <summary>Turns a recorder into the figures of one run.</summary>
public static class SpikeResults
{
    public static SpikeRunResult Summarize(
        string mode,
        string description,
        SpikeRecorder recorder,
        SpikeWorkloadOptions workload,
        SpikeLimits limits,
        (long Requests, long Throttled, string Source)? providerCounts,
        int dbCompletedRows,
        double wallSeconds,
        double deadlineSeconds = 0,
        string azurite = "")
    {
        ArgumentNullException.ThrowIfNull(recorder);
        ArgumentNullException.ThrowIfNull(workload);
        ArgumentNullException.ThrowIfNull(limits);
        var jobs = recorder.Jobs;
        var completed = jobs.Where(j => recorder.Fate(j) == JobFate.Completed).ToList();
        double Latency(SpikeJob j) => recorder.DoneAt(j) - j.ArrivalSeconds;
        List<double> Lat(IEnumerable<SpikeJob> set) => set.Select(Latency).ToList();
        var high = Lat(completed.Where(j => j.High));
        var low = Lat(completed.Where(j => !j.High));
        var inBurst = completed.Where(j => j.ArrivalSeconds >= workload.BurstStartSeconds && j.ArrivalSeconds < workload.BurstEndSeconds).ToList();

        var answers = recorder.ProviderAnswers;
        var clientRequests = answers.Count;
        var clientThrottled = answers.Count(a => a.Throttled);
        var (requests, throttled, source) = providerCounts ?? (clientRequests, clientThrottled, "client");

        var burstLow = completed.Where(j => !j.High && j.ArrivalSeconds >= workload.BurstStartSeconds && j.ArrivalSeconds < workload.BurstEndSeconds).ToList();
        // drained only when every low job that arrived in the burst completed: the time of the last one; otherwise the
        // backlog never drained in the run, and the figure is the whole run from the burst's start (BurstLowUnfinished > 0 says so)
        var burstLowAll = jobs.Count(j => !j.High && j.ArrivalSeconds >= workload.BurstStartSeconds && j.ArrivalSeconds < workload.BurstEndSeconds);
        var burstLowUnfinished = burstLowAll - burstLow.Count;
        var drain = burstLowUnfinished > 0
            ? wallSeconds - workload.BurstStartSeconds
            : burstLow.Count == 0 ? 0 : burstLow.Max(recorder.DoneAt) - workload.BurstStartSeconds;
        var floor = SpikeMath.FloorSeconds(jobs, workload.BurstStartSeconds, workload.BurstEndSeconds, limits.AdmittedGlobalPerSecond, limits.AdmittedEndpointPerSecond);
        var floorAtProvider = SpikeMath.FloorSeconds(jobs, workload.BurstStartSeconds, workload.BurstEndSeconds, limits.ProviderGlobalPerSecond, limits.ProviderEndpointPerSecond);

        var timeline = Timeline(recorder, completed, wallSeconds);
        // a second counts as backlogged when, all through it, more work waited than one second at the limit can serve
        var limit = limits.AdmittedFor(workload.Endpoints.Count);
        var backlogged = timeline.Where(s => s.BacklogHigh + s.BacklogLow >= limit && MinBacklog(recorder, s.Second) >= limit).ToList();
        var admittedWhileBacklogged = backlogged.Count == 0 ? 0 : backlogged.Average(s => (double)s.ProviderAdmitted);
        var errors = recorder.DbErrors;
        var samples = recorder.BacklogSamples;
        var failed = jobs.Count(j => recorder.Fate(j) == JobFate.Failed);

        return new SpikeRunResult
        {
            Mode = mode,
            Description = description,
            Jobs = jobs.Count,
            DbServerConnectionsPeak = recorder.ConnectionSamples.Count == 0 ? 0 : recorder.ConnectionSamples.Max(c => c.Connections),
            DbClientConnectionsPeak = recorder.ClientConnectionsPeak,
            DbErrors = errors.Count,
            DbErrorKinds = errors.GroupBy(e => e.What, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal),
            ProviderRequests = requests,
            Provider429 = throttled,
            ProviderSuccessRate = SpikeMath.SuccessRate(requests, throttled),
            ProviderCountsSource = source,
            P50BatchSeconds = new HighLow(SpikeMath.Percentile(high, 50), SpikeMath.Percentile(low, 50)),
            P99BatchSeconds = new HighLow(SpikeMath.Percentile(high, 99), SpikeMath.Percentile(low, 99)),
            P99BurstBatchSeconds = new HighLow(
                SpikeMath.Percentile(Lat(inBurst.Where(j => j.High)), 99),
                SpikeMath.Percentile(Lat(inBurst.Where(j => !j.High)), 99)),
            MaxBatchSeconds = completed.Count == 0 ? 0 : completed.Max(Latency),
            BatchesOverWindow = completed.Count(j => Latency(j) > limits.BatchWindowSeconds),
            BacklogPeak = samples.Count == 0 ? 0 : samples.Max(s => s.High + s.Low),
            BacklogPeakHigh = samples.Count == 0 ? 0 : samples.Max(s => s.High),
            DrainSeconds = drain,
            BurstLowUnfinished = burstLowUnfinished,
            FloorSeconds = floor,
            FloorSecondsAtProviderLimits = floorAtProvider,
            DrainOverFloor = floor > 0 ? drain / floor : 0,
            AdmittedRateWhileBacklogged = admittedWhileBacklogged,
            AdmittedLimit = limit,
            AdmittedShareOfLimit = admittedWhileBacklogged / limit,
            BackloggedSeconds = backlogged.Count,
            BatchesCompleted = completed.Count,
            BatchesFailed = failed,
            BatchesUnfinishedAtDeadline = jobs.Count(j => recorder.Fate(j) == JobFate.Pending),
            DeadlineSeconds = deadlineSeconds,
            EndedAtDeadline = jobs.Any(j => recorder.Fate(j) == JobFate.Pending),
            Azurite = azurite,
            BatchesCompletedMoreThanOnce = jobs.Count(j => recorder.Completions(j) > 1),
            DbCompletedRows = dbCompletedRows,
            WallSeconds = wallSeconds,
            QueueCalls = recorder.QueueCalls.GroupBy(c => c.Kind, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => QueueCallStats.Of(g.ToList()), StringComparer.Ordinal),
            QueueOperations = recorder.QueueCalls.GroupBy(c => c.Operation, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => (long)g.Sum(c => c.Tries), StringComparer.Ordinal),
            AzuriteCpu = AzuriteCpu.Of(recorder.ResourceSamples),
            LoadAverageAtStart = recorder.ResourceSamples.Count == 0 ? -1 : recorder.ResourceSamples[0].LoadAverage1,
            LoadAverageAtEnd = recorder.ResourceSamples.Count == 0 ? -1 : recorder.ResourceSamples[^1].LoadAverage1,
            Timeline = timeline,
        };
    }

    private static double MinBacklog(SpikeRecorder recorder, int second)
    {
        var inSecond = recorder.BacklogSamples.Where(s => (int)Math.Floor(s.At) == second).ToList();
        return inSecond.Count == 0 ? 0 : inSecond.Min(s => s.High + s.Low);
    }

    private static List<SpikeSecond> Timeline(SpikeRecorder recorder, List<SpikeJob> completed, double wallSeconds)
    {
        var seconds = Math.Max(1, (int)Math.Ceiling(wallSeconds));
        var backlogHigh = new int[seconds];
        var backlogLow = new int[seconds];
        var admitted = new int[seconds];
        var throttled = new int[seconds];
        var latHigh = new double[seconds];
        var latLow = new double[seconds];
        var conns = new int[seconds];
        var done = new int[seconds];
        int Slot(double at) => Math.Clamp((int)Math.Floor(at), 0, seconds - 1);
        foreach (var s in recorder.BacklogSamples)
        {
            var i = Slot(s.At);
            backlogHigh[i] = Math.Max(backlogHigh[i], s.High);
            backlogLow[i] = Math.Max(backlogLow[i], s.Low);
        }
        foreach (var a in recorder.ProviderAnswers)
        {
            if (a.Throttled)
            {
                throttled[Slot(a.At)]++;
            }
            else
            {
                admitted[Slot(a.At)]++;
            }
        }
        foreach (var j in completed)
        {
            var i = Slot(recorder.DoneAt(j));
            var latency = recorder.DoneAt(j) - j.ArrivalSeconds;
            done[i]++;
            if (j.High)
            {
                latHigh[i] = Math.Max(latHigh[i], latency);
            }
            else
            {
                latLow[i] = Math.Max(latLow[i], latency);
            }
        }
        foreach (var c in recorder.ConnectionSamples)
        {
            var i = Slot(c.At);
            conns[i] = Math.Max(conns[i], c.Connections);
        }
        var calls = recorder.QueueCalls.GroupBy(c => Slot(c.At)).ToDictionary(g => g.Key, g => g.ToList());
        var resources = recorder.ResourceSamples.GroupBy(r => Slot(r.At - 1e-6)).ToDictionary(g => g.Key, g => g.Last());
        return Enumerable.Range(0, seconds)
            .Select(i => new SpikeSecond(i, backlogHigh[i], backlogLow[i], admitted[i], throttled[i], Math.Round(latHigh[i], 3), Math.Round(latLow[i], 3), conns[i], done[i])
            {
                QueueCalls = calls.TryGetValue(i, out var inSecond)
                    ? inSecond.GroupBy(c => c.Kind, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => new QueueSecond(
                        g.Count(), g.Sum(c => c.Tries - 1), g.Sum(c => c.Timeouts), g.Count(c => c.Failed),
                        Math.Round(SpikeMath.Percentile(g.Select(c => c.Milliseconds).ToList(), 50), 1), Math.Round(g.Max(c => c.Milliseconds), 1)), StringComparer.Ordinal)
                    : new Dictionary<string, QueueSecond>(),
                AzuriteCpuPercent = resources.TryGetValue(i, out var r) ? r.AzuriteCpuPercent : -1,
                BenchCpuPercent = resources.TryGetValue(i, out var b) ? b.BenchCpuPercent : -1,
                LoadAverage1 = resources.TryGetValue(i, out var l) ? l.LoadAverage1 : -1,
            })
            .ToList();
    }
}

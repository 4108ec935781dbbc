using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Recon.Bench.Spike;

/// <summary>One target of the recon mode and whether the run met it.</summary>
public sealed record SpikeTarget(string Name, string Want, string Got, bool Met);

/// <summary>The file <c>recon bench spike --out FILE.json</c> writes.</summary>
public sealed record SpikeReport
{
    public required string Command { get; init; }
    public required string Machine { get; init; }
    public required DateTimeOffset StartedAt { get; init; }
    public required double Scale { get; init; }
    public required SpikeWorkloadSummary Workload { get; init; }
    public required SpikeLimits Limits { get; init; }
    public required IReadOnlyList<SpikeRunResult> Runs { get; init; }
    public IReadOnlyList<SpikeTarget> Targets { get; init; } = [];
    public IReadOnlyList<string> Notes { get; init; } = [];

    public static JsonSerializerOptions Json { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public SpikeRunResult? Run(string mode) => Runs.FirstOrDefault(r => r.Mode == mode);

    /// <summary>The recon mode's targets from the issue, judged on its figures.</summary>
    public static IReadOnlyList<SpikeTarget> Judge(SpikeRunResult recon, SpikeLimits limits)
    {
        ArgumentNullException.ThrowIfNull(recon);
        ArgumentNullException.ThrowIfNull(limits);
        static string F(double v, string unit = "") => v.ToString("0.##", CultureInfo.InvariantCulture) + unit;
        return
        [
            new("no 429 caused by Recon", "0", recon.Provider429.ToString(CultureInfo.InvariantCulture), recon.Provider429 == 0),
            new("admitted rate while a backlog exists", $">= 90% of {F(recon.AdmittedLimit)} req/s",
                $"{F(recon.AdmittedRateWhileBacklogged)} req/s ({F(recon.AdmittedShareOfLimit * 100)}%, {recon.BackloggedSeconds} s backlogged)",
                recon.BackloggedSeconds > 0 && recon.AdmittedShareOfLimit >= 0.9),
            new("peak PostgreSQL server connections", $"<= pool size {limits.ConfiguredPoolSize}",
                recon.DbServerConnectionsPeak.ToString(CultureInfo.InvariantCulture), recon.DbServerConnectionsPeak <= limits.ConfiguredPoolSize),
            new("database connection errors", "0", recon.DbErrors.ToString(CultureInfo.InvariantCulture), recon.DbErrors == 0),
            new("high-priority P99 during the burst", "<= 5 s", F(recon.P99BurstBatchSeconds.High, " s"), recon.P99BurstBatchSeconds.High <= 5),
            new("batches over the 30 s window", "0", recon.BatchesOverWindow.ToString(CultureInfo.InvariantCulture), recon.BatchesOverWindow == 0),
            new("low-priority backlog drained", $"<= 1.25 x floor ({F(recon.FloorSeconds, " s")})",
                recon.BurstLowUnfinished > 0
                    ? $"not drained: {recon.BurstLowUnfinished} burst low jobs unfinished after {F(recon.DrainSeconds, " s")}"
                    : $"{F(recon.DrainSeconds, " s")} ({F(recon.DrainOverFloor)} x)",
                recon.FloorSeconds > 0 && recon.BurstLowUnfinished == 0 && recon.DrainSeconds <= 1.25 * recon.FloorSeconds),
            new("nothing lost, every batch completed exactly once", $"{recon.Jobs} completed once, 0 failed",
                $"{recon.BatchesCompleted} completed ({recon.DbCompletedRows} rows), {recon.BatchesFailed} failed, {recon.BatchesUnfinishedAtDeadline} unfinished at the deadline, {recon.BatchesCompletedMoreThanOnce} twice",
                recon.BatchesCompleted == recon.Jobs && recon.DbCompletedRows == recon.Jobs && recon.BatchesFailed == 0 && recon.BatchesUnfinishedAtDeadline == 0 && recon.BatchesCompletedMoreThanOnce == 0),
        ];
    }

    /// <summary>The story's table with the two measured columns beside it.</summary>
    public string ToMarkdown()
    {
        var naive = Run("naive");
        var recon = Run("recon");
        static string F(double v, string fmt = "0.#") => v.ToString(fmt, CultureInfo.InvariantCulture);
        static string N(long v) => v.ToString("N0", CultureInfo.InvariantCulture);
        string Cell(SpikeRunResult? r, Func<SpikeRunResult, string> f) => r is null ? "not run" : f(r);
        var rows = new (string Metric, string StoryBefore, Func<SpikeRunResult, string> Measured, string StoryAfter)[]
        {
            ("PostgreSQL server connections (peak)", "500+, database crashing",
                r => $"{r.DbServerConnectionsPeak} (client demand {r.DbClientConnectionsPeak})", "steady 50"),
            ("database errors", "too many clients",
                r => r.DbErrors == 0 ? "0" : $"{N(r.DbErrors)} ({string.Join(", ", r.DbErrorKinds.Select(k => $"{k.Key}: {N(k.Value)}"))})", "none"),
            ("Stripe success rate (non-429 / requests)", "72%",
                r => $"{F(r.ProviderSuccessRate * 100, "0.0")}% ({N(r.Provider429)} 429s of {N(r.ProviderRequests)})", "99.8%"),
            ("P99 batch latency, high / low", "45 s and failing",
                r => $"{F(r.P99BatchSeconds.High)} s / {F(r.P99BatchSeconds.Low)} s", "11 s"),
            ("P99 high-priority latency during the burst", "",
                r => $"{F(r.P99BurstBatchSeconds.High, "0.##")} s", "high queue never backed up"),
            ("batches over the 30 s window", "",
                r => N(r.BatchesOverWindow), ""),
            ("backlog peak (all / high)", "",
                r => $"{N(r.BacklogPeak)} / {N(r.BacklogPeakHigh)}", ""),
            ("low-priority burst backlog drained in", "",
                r => r.BurstLowUnfinished > 0
                    ? $"not drained ({N(r.BurstLowUnfinished)} unfinished after {F(r.DrainSeconds)} s; floor {F(r.FloorSeconds)} s)"
                    : $"{F(r.DrainSeconds)} s (floor {F(r.FloorSeconds)} s, {F(r.DrainOverFloor, "0.00")} x)", "12,000 in 5 min"),
            ("admitted provider rate while backlogged", "",
                r => r.BackloggedSeconds == 0 ? "no backlog" : $"{F(r.AdmittedRateWhileBacklogged)} req/s ({F(r.AdmittedShareOfLimit * 100, "0")}% of {F(r.AdmittedLimit, "0.##")})", "95 of 100 req/s"),
            ("engine / worker processes", "",
                r => r.Engine is null ? "none (a task per message)" : $"{r.Engine} / {r.Workers}", "Durable Functions"),
            ("per batch: activity executions / orchestration episodes / storage requests", "",
                r => r.PerBatch is { } p ? $"{F(p.ActivityExecutions, "0.##")} / {F(p.OrchestrationEpisodes, "0.##")} / {F(p.StorageRequestsTotal, "0.#")}" : "n/a", ""),
            ("P99 queued→done (batches table), high / low", "",
                r => r.P99QueuedToDoneSeconds is { } q ? $"{F(q.High)} s / {F(q.Low)} s" : "n/a", ""),
            ("cost on Azure (docs/cost.md): spike week / idle day", "",
                r => r.Cost is { } c ? string.Create(CultureInfo.InvariantCulture, $"${c.SpikeWeekUsd:N2} / ${c.IdleDayUsd:N2}") : "n/a", ""),
            ("batches completed / failed / unfinished at the hard end", "",
                r => $"{N(r.BatchesCompleted)} / {N(r.BatchesFailed)} / {N(r.BatchesUnfinishedAtDeadline)} of {N(r.Jobs)}{(r.EndedAtDeadline ? $" (stopped at {F(r.DeadlineSeconds)} s)" : "")}", ""),
        };
        var sb = new StringBuilder();
        sb.AppendLine("| | story: before | naive (measured) | story: after | recon (measured) |");
        sb.AppendLine("|---|---|---|---|---|");
        foreach (var row in rows)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"| {row.Metric} | {row.StoryBefore} | {Cell(naive, row.Measured)} | {row.StoryAfter} | {Cell(recon, row.Measured)} |");
        }
        if (Targets.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("| recon target | wanted | measured | met |");
            sb.AppendLine("|---|---|---|---|");
            foreach (var t in Targets)
            {
                sb.AppendLine(CultureInfo.InvariantCulture, $"| {t.Name} | {t.Want} | {t.Got} | {(t.Met ? "yes" : "**no**")} |");
            }
        }
        return sb.ToString();
    }
}

/// <summary>What the workload was, in the report.</summary>
public sealed record SpikeWorkloadSummary(
    int Jobs,
    int HighJobs,
    int LowJobs,
    double BaselineJobsPerSecond,
    double BurstJobsPerSecond,
    double BurstStartSeconds,
    double BurstEndSeconds,
    double ArrivalEndSeconds,
    IReadOnlyList<string> Endpoints)
{
    public static SpikeWorkloadSummary Of(SpikeWorkloadOptions options, IReadOnlyList<SpikeJob> jobs)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(jobs);
        return new(jobs.Count, jobs.Count(j => j.High), jobs.Count(j => !j.High), options.BaselineJobsPerSecond,
            options.BaselineJobsPerSecond * options.BurstMultiplier, options.BurstStartSeconds, options.BurstEndSeconds,
            options.ArrivalEndSeconds, options.Endpoints);
    }
}

using System.Globalization;
using System.Runtime.InteropServices;

namespace Recon.Bench.Spike;

/// <summary>The provider side of a run: the sandbox, its counters, and a caller for the jobs.</summary>
public interface ISpikeProviderHost : IAsyncDisposable
{
    /// <summary>Loads whatever the jobs page through (limits off while loading).</summary>
    Task PrepareAsync(IReadOnlyList<SpikeJob> jobs, CancellationToken cancellationToken);

    Task ResetCountersAsync(CancellationToken cancellationToken);

    /// <summary>Requests and 429s the sandbox itself counted since the last reset.</summary>
    Task<(long Requests, long Throttled)> CountersAsync(CancellationToken cancellationToken);
}

/// <summary>One mode of the benchmark (naive or recon).</summary>
public interface ISpikeMode
{
    string Name { get; }

    string Description { get; }

    Task RunAsync(IReadOnlyList<SpikeJob> jobs, SpikeRecorder recorder, TimeSpan deadline, CancellationToken cancellationToken);
}

/// <summary>A mode with work to do before its clock starts (disposing the result undoes it, after the mode ran) and
/// figures of its own to add to its result.</summary>
public interface ISpikeModeLifecycle
{
    Task<IAsyncDisposable> StartAsync(Action<string> log, CancellationToken cancellationToken);

    SpikeRunResult Complete(SpikeRunResult result);
}

/// <summary>Runs the same workload through each mode, one after the other, and builds the report.</summary>
public static class SpikeRunner
{
    public static async Task<SpikeReport> RunAsync(
        SpikeWorkloadOptions workload,
        SpikeLimits limits,
        SpikeDatabase database,
        ISpikeProviderHost providers,
        IReadOnlyList<ISpikeMode> modes,
        string command,
        Action<string> log,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(workload);
        ArgumentNullException.ThrowIfNull(database);
        ArgumentNullException.ThrowIfNull(providers);
        ArgumentNullException.ThrowIfNull(modes);
        ArgumentNullException.ThrowIfNull(log);
        var startedAt = DateTimeOffset.UtcNow;
        var jobs = SpikeWorkload.Plan(workload);
        var prices = Cost.AzurePriceBook.LoadDefault();
        log(string.Create(CultureInfo.InvariantCulture,
            $"workload: {jobs.Count} jobs ({jobs.Count(j => j.High)} high), {workload.BaselineJobsPerSecond}/s then {workload.BaselineJobsPerSecond * workload.BurstMultiplier}/s from {workload.BurstStartSeconds:0.#} s to {workload.BurstEndSeconds:0.#} s, arrivals end at {workload.ArrivalEndSeconds:0.#} s"));
        await providers.PrepareAsync(jobs, cancellationToken).ConfigureAwait(false);
        var runs = new List<SpikeRunResult>();
        foreach (var mode in modes)
        {
            await database.ResetRunDataAsync(cancellationToken).ConfigureAwait(false);
            await providers.ResetCountersAsync(cancellationToken).ConfigureAwait(false);
            var recorder = new SpikeRecorder(jobs);
            log($"{mode.Name}: running ({mode.Description})");
            var deadline = Deadline(workload, jobs, limits);
            double wall;
            // a mode on its own Azurite gets it started before its clock starts and killed (whole process tree) when
            // it ends, whatever happens
            var isolated = mode as AzuriteIsolatedMode;
            await using (isolated is null ? null : await isolated.PrepareAsync(log, cancellationToken).ConfigureAwait(false))
            await using (var sampler = await ServerConnectionSampler.StartAsync(database.Admin, database.Name, recorder, cancellationToken).ConfigureAwait(false))
            {
                recorder.Start();
                await using (ResourceSampler.Start(isolated?.AzuritePid, recorder))
                {
                    await mode.RunAsync(jobs, recorder, deadline, cancellationToken).ConfigureAwait(false);
                    wall = recorder.Now;
                }
                // after the clock: what the mode does with nothing to do, while its processes still run
                if (mode is ISpikeModeCost idle)
                {
                    await idle.SampleIdleAsync(log, cancellationToken).ConfigureAwait(false);
                }
            }
            var counters = await providers.CountersAsync(cancellationToken).ConfigureAwait(false);
            var done = await database.CountDoneBatchesAsync(cancellationToken).ConfigureAwait(false);
            var result = SpikeResults.Summarize(mode.Name, mode.Description, recorder, workload, limits,
                (counters.Requests, counters.Throttled, "sandbox"), done, wall, deadline.TotalSeconds, isolated?.Azurite ?? "the stack's Azurite");
            if (mode is ISpikeModeLifecycle lifecycle)
            {
                result = lifecycle.Complete(result);
            }
            if (mode is ISpikeModeCost priced)
            {
                result = result with { Cost = SpikeCost.Estimate(priced, result, prices, log) };
                if (result.Cost is { } cost)
                {
                    log(string.Create(CultureInfo.InvariantCulture,
                        $"{mode.Name}: cost on Azure: spike week ${cost.SpikeWeekUsd:0.00}, idle day ${cost.IdleDayUsd:0.00} ({cost.PricesFile})"));
                }
            }
            log(string.Create(CultureInfo.InvariantCulture,
                $"{mode.Name}: {result.BatchesCompleted}/{result.Jobs} completed, {result.BatchesFailed} failed, {result.BatchesUnfinishedAtDeadline} unfinished at the hard end ({deadline.TotalSeconds:0.#} s) in {wall:0.#} s; peak server connections {result.DbServerConnectionsPeak}, db errors {result.DbErrors}, provider {result.ProviderRequests} requests / {result.Provider429} 429s; P99 high {result.P99BatchSeconds.High:0.##} s low {result.P99BatchSeconds.Low:0.##} s"));
            foreach (var (kind, q) in result.QueueCalls)
            {
                log(string.Create(CultureInfo.InvariantCulture,
                    $"{mode.Name}: queue {kind}: {q.Calls} calls, p50 {q.P50Ms:0.#} ms, p99 {q.P99Ms:0.#} ms, max {q.MaxMs:0.#} ms, {q.Retries} retries, {q.Timeouts} timeouts, {q.Failed} failed"));
            }
            log(string.Create(CultureInfo.InvariantCulture,
                $"{mode.Name}: Azurite CPU mean {result.AzuriteCpu.MeanPercent:0.#}% peak {result.AzuriteCpu.PeakPercent:0.#}% of a core ({result.AzuriteCpu.SecondsAtOrAbove90Percent} s at >= 90%); load average {result.LoadAverageAtStart:0.##} -> {result.LoadAverageAtEnd:0.##}"));
            runs.Add(result);
        }
        var recon = runs.FirstOrDefault(r => r.Mode == "recon");
        return new SpikeReport
        {
            Command = command,
            Machine = Machine(),
            StartedAt = startedAt,
            Scale = workload.Scale,
            Workload = SpikeWorkloadSummary.Of(workload, jobs),
            Limits = limits,
            Runs = runs,
            Targets = recon is null ? [] : SpikeReport.Judge(recon, limits),
            Notes =
            [
                "provider_requests and provider_429 are the sandbox's own counters (every request it received, 429s included).",
                "db_server_connections_peak is sampled from pg_stat_activity every 50 ms for the bench's own database; db_client_connections_peak is how many connections the workers tried to hold at once.",
                "floor_seconds: the least time, from the start of the burst, in which Recon's admitted rates (per endpoint and global) let every job that arrived during the burst make its call.",
                "drain_seconds: from the start of the burst until the last low-priority job that arrived during the burst completed.",
                "backlog: jobs arrived and not finished (queued, waiting for a token, or in flight).",
                "batches_unfinished_at_deadline: jobs neither completed nor failed when the mode hit its hard end (deadline_seconds = last arrival + the drain allowance, or burst start + 2 x floor_seconds if later); each mode stops there, so the naive mode's immediate redeliveries cannot run on for ever.",
                "azurite: each mode runs on its own fresh in-memory Azurite process, killed when the mode ends, so one mode's queue traffic cannot slow the next.",
            ],
        };
    }

    /// <summary>
    /// A mode's hard end: the last arrival plus <see cref="SpikeWorkloadOptions.DrainAllowanceSeconds"/>, or twice the floor from the start of the
    /// burst if that is later (the floor is set by the provider's limits: a burst 4x above them cannot drain in a minute,
    /// and the run must show whether the product drains it, not cut it off first).
    /// </summary>
    public static TimeSpan Deadline(SpikeWorkloadOptions workload, IReadOnlyList<SpikeJob> jobs, SpikeLimits limits)
    {
        ArgumentNullException.ThrowIfNull(workload);
        ArgumentNullException.ThrowIfNull(limits);
        var floor = SpikeMath.FloorSeconds(jobs, workload.BurstStartSeconds, workload.BurstEndSeconds, limits.AdmittedGlobalPerSecond, limits.AdmittedEndpointPerSecond);
        return TimeSpan.FromSeconds(Math.Max(workload.ArrivalEndSeconds + workload.DrainAllowanceSeconds, workload.BurstStartSeconds + (2 * floor)));
    }

    /// <summary>Writes FILE.json, and beside it FILE.md (the table) and FILE.svg (the chart), unless paths are given.</summary>
    public static async Task<(string Json, string Markdown, string Svg)> WriteAsync(SpikeReport report, string jsonPath, string? svgPath, string? markdownPath, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(report);
        var full = Path.GetFullPath(jsonPath);
        var stem = Path.Combine(Path.GetDirectoryName(full)!, Path.GetFileNameWithoutExtension(full));
        svgPath = Path.GetFullPath(svgPath ?? stem + ".svg");
        markdownPath = Path.GetFullPath(markdownPath ?? stem + ".md");
        foreach (var p in new[] { full, svgPath, markdownPath })
        {
            Directory.CreateDirectory(Path.GetDirectoryName(p)!);
        }
        await File.WriteAllTextAsync(full, report.ToJson(), cancellationToken).ConfigureAwait(false);
        await File.WriteAllTextAsync(svgPath, SpikeChart.Render(report), cancellationToken).ConfigureAwait(false);
        await File.WriteAllTextAsync(markdownPath, report.ToMarkdown(), cancellationToken).ConfigureAwait(false);
        return (full, markdownPath, svgPath);
    }

    private static string Machine()
    {
        var cpu = "";
        try
        {
            cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "";
        }
        catch (IOException)
        {
            // not Linux: the rest still says enough
        }
        catch (UnauthorizedAccessException)
        {
            // same
        }
        return string.Create(CultureInfo.InvariantCulture,
            $"{Environment.ProcessorCount} cores{(cpu.Length > 0 ? $" ({cpu})" : "")}, {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}; shared with other builds, timing is noisy");
    }
}

using System.Diagnostics;
using System.Globalization;

namespace Recon.Bench.Spike;

/// <summary>One second of the machine as the run saw it: CPU used by the mode's Azurite (its process tree) and by the
/// bench process, in percent of one core, and the 1-minute load average.</summary>
public readonly record struct ResourceSample(double At, double AzuriteCpuPercent, double BenchCpuPercent, double LoadAverage1);

/// <summary>
/// Samples, once a second, the CPU time of Azurite's process tree (utime + stime from <c>/proc/&lt;pid&gt;/stat</c>, the
/// children found through <c>/proc/&lt;pid&gt;/task/*/children</c>), the bench's own CPU time and <c>/proc/loadavg</c>.
/// Where /proc is missing (not Linux) the Azurite figure is -1 and the run goes on.
/// </summary>
public sealed class ResourceSampler : IAsyncDisposable
{
    /// <summary>One sample a second: the timeline's resolution.</summary>
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    /// <summary>Clock ticks per second of /proc's utime/stime: USER_HZ, 100 on every Linux this runs on.</summary>
    private const double TicksPerSecond = 100;

    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    private ResourceSampler(int? azuritePid, SpikeRecorder recorder)
    {
        _loop = Task.Run(() => LoopAsync(azuritePid, recorder, _stop.Token));
    }

    /// <summary>Starts sampling (Azurite's tree from <paramref name="azuritePid"/>, if any) into <paramref name="recorder"/>.</summary>
    public static ResourceSampler Start(int? azuritePid, SpikeRecorder recorder)
    {
        ArgumentNullException.ThrowIfNull(recorder);
        return new ResourceSampler(azuritePid, recorder);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // stopped
        }
        _stop.Dispose();
    }

    private static async Task LoopAsync(int? azuritePid, SpikeRecorder recorder, CancellationToken ct)
    {
        using var self = Process.GetCurrentProcess();
        var lastAt = recorder.Now;
        var lastAzurite = azuritePid is { } p0 ? TreeCpuSeconds(p0) : null;
        self.Refresh();
        var lastSelf = self.TotalProcessorTime.TotalSeconds;
        // bounded by the run: stopped when the mode ends
        while (!ct.IsCancellationRequested)
        {
            await Task.Delay(Interval, ct).ConfigureAwait(false);
            var at = recorder.Now;
            var elapsed = Math.Max(1e-3, at - lastAt);
            var azurite = azuritePid is { } p ? TreeCpuSeconds(p) : null;
            self.Refresh();
            var selfCpu = self.TotalProcessorTime.TotalSeconds;
            var azuritePercent = azurite is { } a && lastAzurite is { } la ? Math.Max(0, a - la) / elapsed * 100 : -1;
            recorder.Resources(new ResourceSample(at, Math.Round(azuritePercent, 1), Math.Round((selfCpu - lastSelf) / elapsed * 100, 1), LoadAverage()));
            lastAt = at;
            lastAzurite = azurite;
            lastSelf = selfCpu;
        }
    }

    /// <summary>CPU seconds (user + system) used so far by <paramref name="pid"/> and its descendants; null when /proc
    /// cannot say (not Linux, or the process is gone).</summary>
    public static double? TreeCpuSeconds(int pid)
    {
        try
        {
            var total = 0.0;
            var seen = new HashSet<int>();
            var pending = new Stack<int>();
            pending.Push(pid);
            // bounded: each process is visited once
            while (pending.Count > 0)
            {
                var current = pending.Pop();
                if (!seen.Add(current) || ProcessCpuTicks(current) is not { } ticks)
                {
                    continue;
                }
                total += ticks / TicksPerSecond;
                foreach (var task in Directory.EnumerateDirectories($"/proc/{current}/task"))
                {
                    var children = Path.Combine(task, "children");
                    if (!File.Exists(children))
                    {
                        continue;
                    }
                    foreach (var child in File.ReadAllText(children).Split(' ', StringSplitOptions.RemoveEmptyEntries))
                    {
                        pending.Push(int.Parse(child, CultureInfo.InvariantCulture));
                    }
                }
            }
            return seen.Count == 0 ? null : total;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }

    /// <summary>utime + stime of one process, in clock ticks (fields 14 and 15 of /proc/&lt;pid&gt;/stat, counted after
    /// the command name, which may hold spaces and ends at the last ')').</summary>
    private static long? ProcessCpuTicks(int pid)
    {
        var path = $"/proc/{pid}/stat";
        if (!File.Exists(path))
        {
            return null;
        }
        var stat = File.ReadAllText(path);
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // fields[0] is field 3 (state): utime is field 14, stime field 15
        return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
    }

    private static double LoadAverage()
    {
        try
        {
            return double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            return -1;
        }
    }
}

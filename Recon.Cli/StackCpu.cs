using System.Globalization;

namespace Recon.Cli;

/// <summary>
/// CPU time the local stack's processes use over a wall-clock interval, read from <c>/proc/&lt;pid&gt;/stat</c> (user +
/// system ticks; PostgreSQL with all its backends), found through the pid files <c>./recon up</c> writes under its state
/// folder. CPU time, not wall time: other work on the machine barely changes it.
/// </summary>
internal static class StackCpu
{
    /// <summary>Linux reports these times in USER_HZ ticks, 100 a second on every architecture .NET runs on.</summary>
    private const double TicksPerSecond = 100;

    /// <summary>(process, % of one core) over <paramref name="interval"/>; empty when the state folder is unknown or not on Linux.</summary>
    public static async Task<IReadOnlyList<(string Name, double PercentOfCore)>> MeasureAsync(string? stateDir, TimeSpan interval)
    {
        if (string.IsNullOrEmpty(stateDir) || !Directory.Exists("/proc"))
        {
            return [];
        }
        var processes = new (string Name, string PidFile, bool WithChildren)[]
        {
            ("worker", Path.Combine(stateDir, "procs", "worker.pid"), false),
            ("sandboxes", Path.Combine(stateDir, "procs", "sandbox.pid"), false),
            ("azurite", Path.Combine(stateDir, "azurite", "azurite.pid"), false),
            ("redis", Path.Combine(stateDir, "redis", "redis.pid"), false),
            ("pgbouncer", Path.Combine(stateDir, "run", "pgbouncer", "pgbouncer.pid"), false),
            ("postgresql", Path.Combine(stateDir, "run", "pg", "data", "postmaster.pid"), true),
        };
        var found = processes.Select(p => (p.Name, Pid: ReadPid(p.PidFile), p.WithChildren)).Where(p => p.Pid > 0).ToList();
        var before = found.Select(p => Ticks(p.Pid, p.WithChildren)).ToList();
        await Task.Delay(interval).ConfigureAwait(false);
        return found.Select((p, i) => (p.Name, 100 * (Ticks(p.Pid, p.WithChildren) - before[i]) / TicksPerSecond / interval.TotalSeconds)).ToList();
    }

    private static int ReadPid(string file)
    {
        try
        {
            return File.Exists(file) && int.TryParse(File.ReadLines(file).FirstOrDefault()?.Trim(), CultureInfo.InvariantCulture, out var pid) ? pid : 0;
        }
        catch (IOException)
        {
            return 0;
        }
        catch (UnauthorizedAccessException)
        {
            return 0;
        }
    }

    /// <summary>utime + stime of <paramref name="pid"/>, plus its children's when asked (PostgreSQL's backends).</summary>
    private static long Ticks(int pid, bool withChildren)
    {
        var total = 0L;
        foreach (var dir in withChildren ? Directory.EnumerateDirectories("/proc") : [$"/proc/{pid}"])
        {
            if (Stat(Path.Combine(dir, "stat")) is { } s && (s.Pid == pid || (withChildren && s.ParentPid == pid)))
            {
                total += s.Ticks;
            }
        }
        return total;
    }

    private static (int Pid, int ParentPid, long Ticks)? Stat(string file)
    {
        string text;
        try
        {
            text = File.ReadAllText(file);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        // "pid (comm) state ppid ... utime stime": comm may hold spaces, so split after its closing parenthesis
        var close = text.LastIndexOf(')');
        if (close < 0 || !int.TryParse(text.AsSpan(0, text.IndexOf(' ', StringComparison.Ordinal)), CultureInfo.InvariantCulture, out var pid))
        {
            return null;
        }
        var fields = text[(close + 2)..].Split(' ');
        // after comm: [0] state, [1] ppid, ..., [11] utime, [12] stime
        return fields.Length > 12
            && int.TryParse(fields[1], CultureInfo.InvariantCulture, out var ppid)
            && long.TryParse(fields[11], CultureInfo.InvariantCulture, out var utime)
            && long.TryParse(fields[12], CultureInfo.InvariantCulture, out var stime)
            ? (pid, ppid, utime + stime)
            : null;
    }
}

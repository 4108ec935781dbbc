using System.Collections;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;

namespace Recon.Bench.Spike;

/// <summary>
/// One real <c>Recon.Worker</c> process, started as <c>./recon up</c> starts it (<c>dotnet Recon.Worker.dll</c>, settings in
/// the environment), on a free loopback port, its output in a log file. Disposing kills it (whole tree); the log stays
/// until the folder it is in is deleted.
/// </summary>
public sealed class WorkerProcess : IAsyncDisposable
{
    /// <summary>How long a worker may take to answer <c>/api/health</c>: a first start on a loaded 2-core machine
    /// (JIT, migrations check, the hub's queues and tables) takes seconds to tens of seconds.</summary>
    private static readonly TimeSpan StartupTimeout = TimeSpan.FromSeconds(180);

    private readonly Process _process;
    private readonly HttpClient _http;

    private WorkerProcess(Process process, int port, string logPath, HttpClient http)
    {
        _process = process;
        Port = port;
        LogPath = logPath;
        _http = http;
    }

    public int Port { get; }

    public int ProcessId => _process.Id;

    public string LogPath { get; }

    public Uri BaseAddress => new(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{Port}/"));

    /// <summary>
    /// The built worker (<c>Recon.Worker/bin/CONFIG/net10.0/Recon.Worker.dll</c>) under <paramref name="reconRoot"/>, or
    /// else in the first folder above this program that has one; the configuration this program was built in first
    /// (Release, then Debug). Null when none is built.
    /// </summary>
    public static string? FindWorkerDll(string? reconRoot)
    {
        var own = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Debug" : "Release";
        var configurations = new[] { Environment.GetEnvironmentVariable("RECON_CONFIGURATION") ?? own, own, "Release", "Debug" }.Distinct(StringComparer.Ordinal).ToList();
        string? In(string root) => configurations.Select(c => Path.Combine(root, "Recon.Worker", "bin", c, "net10.0", "Recon.Worker.dll")).FirstOrDefault(File.Exists);
        if (!string.IsNullOrEmpty(reconRoot) && In(reconRoot) is { } found)
        {
            return found;
        }
        // bounded: walks up to the file system's root
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (In(dir.FullName) is { } dll)
            {
                return dll;
            }
        }
        return null;
    }

    /// <summary>
    /// Starts <paramref name="workerDll"/> with <paramref name="settings"/> in its environment (over this process's, with
    /// every inherited <c>Recon__Providers__*</c> and <c>Recon__Sandbox__*</c> removed: the worker talks to the providers
    /// it is given and no others), logging to <paramref name="logPath"/>, and waits until it answers <c>/api/health</c>.
    /// </summary>
    public static async Task<WorkerProcess> StartAsync(string workerDll, IReadOnlyDictionary<string, string> settings, string logPath, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var port = FreePort();
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(workerDll)!,
        };
        info.ArgumentList.Add(workerDll);
        foreach (var key in Environment.GetEnvironmentVariables().Keys.Cast<object>().Select(k => (string)k))
        {
            if (key.StartsWith("Recon__Providers__", StringComparison.Ordinal) || key.StartsWith("Recon__Sandbox__", StringComparison.Ordinal))
            {
                info.Environment.Remove(key);
            }
        }
        foreach (var (key, value) in settings)
        {
            info.Environment[key] = value;
        }
        info.Environment["Recon__Worker__Port"] = port.ToString(CultureInfo.InvariantCulture);
        var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start dotnet {workerDll}");
        var log = new StreamWriter(logPath, append: false) { AutoFlush = true };
        var gate = new object();
        void Write(string? line)
        {
            if (line is not null)
            {
                lock (gate)
                {
                    log.WriteLine(line);
                }
            }
        }
        process.OutputDataReceived += (_, e) => Write(e.Data);
        process.ErrorDataReceived += (_, e) => Write(e.Data);
        process.Exited += (_, _) =>
        {
            lock (gate)
            {
                log.Dispose();
            }
        };
        process.EnableRaisingEvents = true;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var worker = new WorkerProcess(process, port, logPath, http);
        try
        {
            await worker.WaitHealthyAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await worker.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return worker;
    }

    private async Task WaitHealthyAsync(CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        // bounded: StartupTimeout, or the process exiting
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"Recon.Worker (pid {_process.Id}) exited with code {_process.ExitCode} while starting; last lines of {LogPath}:\n{Tail()}");
            }
            try
            {
                using var answer = await _http.GetAsync(new Uri(BaseAddress, "api/health"), cancellationToken).ConfigureAwait(false);
                if (answer.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }
            if (clock.Elapsed > StartupTimeout)
            {
                throw new TimeoutException($"Recon.Worker (pid {_process.Id}) did not answer on 127.0.0.1:{Port} within {StartupTimeout.TotalSeconds:0} s; last lines of {LogPath}:\n{Tail()}");
            }
            await Task.Delay(300, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The worker's <c>GET /api/metrics/durable</c>.</summary>
    public async Task<WorkerMetrics> MetricsAsync(CancellationToken cancellationToken)
    {
        var metrics = await _http.GetFromJsonAsync<WorkerMetrics>(new Uri(BaseAddress, "api/metrics/durable"), WorkerMetrics.Json, cancellationToken).ConfigureAwait(false);
        return metrics ?? throw new InvalidOperationException($"Recon.Worker on 127.0.0.1:{Port} answered /api/metrics/durable with nothing");
    }

    /// <summary>The last lines of the log (for errors).</summary>
    public string Tail(int lines = 20)
    {
        try
        {
            using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            var all = reader.ReadToEnd().Split('\n');
            return string.Join('\n', all.TakeLast(lines));
        }
        catch (IOException ex)
        {
            return $"(could not read the log: {ex.Message})";
        }
    }

    /// <summary>Log lines that report a database error (Npgsql or PostgreSQL exceptions).</summary>
    public int DatabaseErrorLines()
    {
        try
        {
            using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            var count = 0;
            // bounded: the log file's lines
            while (reader.ReadLine() is { } line)
            {
                if (line.Contains("NpgsqlException", StringComparison.Ordinal) || line.Contains("PostgresException", StringComparison.Ordinal))
                {
                    count++;
                }
            }
            return count;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or System.ComponentModel.Win32Exception)
        {
            await Console.Error.WriteLineAsync($"recon bench: Recon.Worker pid {_process.Id} did not exit: {ex.Message}").ConfigureAwait(false);
        }
        _process.Dispose();
        _http.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>The worker's <c>GET /api/metrics/durable</c> as the bench reads it (counts since the process started).</summary>
public sealed record WorkerMetrics(
    long ActivityExecutions,
    long OrchestrationEpisodes,
    IReadOnlyDictionary<string, long> Activities,
    IReadOnlyDictionary<string, long> Orchestrations,
    IReadOnlyDictionary<string, IReadOnlyDictionary<string, long>> StorageRequests)
{
    public static JsonSerializerOptions Json { get; } = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static WorkerMetrics Empty { get; } = new(0, 0, new Dictionary<string, long>(), new Dictionary<string, long>(), new Dictionary<string, IReadOnlyDictionary<string, long>>());

    /// <summary>The sum of several processes' counts.</summary>
    public static WorkerMetrics Sum(IEnumerable<WorkerMetrics> all)
    {
        ArgumentNullException.ThrowIfNull(all);
        return all.Aggregate(Empty, (a, b) => a.Combine(b, +1));
    }

    /// <summary>What happened between <paramref name="before"/> and this.</summary>
    public WorkerMetrics Minus(WorkerMetrics before)
    {
        ArgumentNullException.ThrowIfNull(before);
        return Combine(before, -1);
    }

    private WorkerMetrics Combine(WorkerMetrics other, int sign)
    {
        static Dictionary<string, long> Add(IReadOnlyDictionary<string, long> a, IReadOnlyDictionary<string, long> b, int sign)
        {
            var sum = new Dictionary<string, long>(a, StringComparer.Ordinal);
            foreach (var (k, v) in b)
            {
                sum[k] = sum.GetValueOrDefault(k) + (sign * v);
            }
            return sum;
        }
        var storage = new Dictionary<string, IReadOnlyDictionary<string, long>>(StringComparer.Ordinal);
        foreach (var service in StorageRequests.Keys.Union(other.StorageRequests.Keys, StringComparer.Ordinal))
        {
            storage[service] = Add(StorageRequests.GetValueOrDefault(service) ?? new Dictionary<string, long>(),
                other.StorageRequests.GetValueOrDefault(service) ?? new Dictionary<string, long>(), sign);
        }
        return new WorkerMetrics(ActivityExecutions + (sign * other.ActivityExecutions), OrchestrationEpisodes + (sign * other.OrchestrationEpisodes),
            Add(Activities, other.Activities, sign), Add(Orchestrations, other.Orchestrations, sign), storage);
    }

    public long StorageRequestsTotal => StorageRequests.Values.Sum(s => s.Values.Sum());
}

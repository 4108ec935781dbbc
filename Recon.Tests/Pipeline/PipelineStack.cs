using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Azure.Storage.Queues;
using Recon.Core.Matching;
using Recon.Core.Pipeline;
using Recon.Sandbox;
using Recon.Sandbox.Scenarios;
using Recon.Tests.Infrastructure;

namespace Recon.Tests.Pipeline;

/// <summary>
/// One isolated pipeline world on the real stack: its own database (through PgBouncer), task hub, queue names and Redis
/// key prefix, an in-process provider sandbox loaded with a generated scenario, and the settings a worker needs to
/// run against all of it — in process (<see cref="Settings"/>) or as a separate process (<see cref="Environment"/>).
/// </summary>
public sealed class PipelineStack : IAsyncDisposable
{
    private readonly string _queuePrefix = $"q{Guid.NewGuid():N}"[..12];

    private PipelineStack(TestDatabase db, RunningSandbox sandbox, Scenario scenario, int port)
    {
        Db = db;
        Sandbox = sandbox;
        Scenario = scenario;
        Port = port;
    }

    public TestDatabase Db { get; }

    public RunningSandbox Sandbox { get; }

    public Scenario Scenario { get; }

    public int Port { get; }

    public string Hub { get; } = TestHubs.NewName("p");

    public string IngestQueue => _queuePrefix + "-ingest";

    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(60) };

    public IReadOnlyList<MatchTruth> Truth => ScenarioRequests.Truth(Scenario);

    public static async Task<PipelineStack> CreateAsync(int seed, int size)
    {
        var db = new TestDatabase();
        await db.InitializeAsync();
        var sandbox = await SandboxHost.StartAsync(SandboxOptions.WithRandomKeys());
        var scenario = ScenarioGenerator.Generate(seed, size);
        using (var http = new HttpClient())
        {
            await ScenarioLoader.LoadAsync(scenario, db.DataSource, sandbox.Admin(http), CancellationToken.None);
        }
        return new PipelineStack(db, sandbox, scenario, FreePort());
    }

    /// <summary>Configuration keys (as a .NET configuration reads them) for a worker bound to this world.</summary>
    public Dictionary<string, string?> Settings(TimeSpan? visibilityTimeout = null)
    {
        var s = new Dictionary<string, string?>
        {
            ["Recon:Worker:Port"] = Port.ToString(CultureInfo.InvariantCulture),
            ["Recon:Worker:TaskHubName"] = Hub,
            ["Recon:Storage:ConnectionString"] = TestStack.Storage,
            ["Recon:Database:ConnectionString"] = Db.ConnectionString,
            ["Recon:Redis:Configuration"] = TestStack.Redis,
            ["Recon:RateLimits:KeyPrefix"] = "t:" + _queuePrefix,
            ["Recon:Queues:Ingest"] = IngestQueue,
            ["Recon:Queues:HighQueue"] = _queuePrefix + "-high",
            ["Recon:Queues:LowQueue"] = _queuePrefix + "-low",
            ["Recon:Providers:Stripe:ApiBase"] = Sandbox.BaseUrl,
            ["Recon:Providers:Stripe:ApiKey"] = Sandbox.Options.StripeApiKey,
            ["Recon:Providers:Plaid:BaseUrl"] = Sandbox.BaseUrl,
            ["Recon:Providers:Plaid:ClientId"] = Sandbox.Options.PlaidClientId,
            ["Recon:Providers:Plaid:Secret"] = Sandbox.Options.PlaidSecret,
            ["Recon:Providers:BankA:BaseUrl"] = Sandbox.BankAUrl,
            ["Recon:Providers:BankA:ApiKey"] = Sandbox.Options.BankApiKey,
            ["Recon:Providers:BankB:BaseUrl"] = Sandbox.BankBUrl,
            ["Recon:Providers:BankB:ApiKey"] = Sandbox.Options.BankApiKey,
        };
        if (visibilityTimeout is { } v)
        {
            // activity messages only: DTFx renews an activity's lease while it runs, so a short one costs nothing while
            // the worker lives. Control-queue messages are not renewed and wait in the worker's prefetch buffer, so under
            // CPU starvation a short control lease hands the same episode out again and again (PopReceiptMismatch on
            // every abandon): those keep the configured 45 s.
            s["Recon:Worker:WorkItemVisibilityTimeout"] = v.ToString("c", CultureInfo.InvariantCulture);
        }
        return s;
    }

    /// <summary>The same settings as environment variables (<c>Recon__Worker__Port</c>, ...).</summary>
    public Dictionary<string, string> Environment(TimeSpan? visibilityTimeout = null)
        => Settings(visibilityTimeout).ToDictionary(kv => kv.Key.Replace(":", "__", StringComparison.Ordinal), kv => kv.Value ?? "");

    public Uri WorkerUrl => new($"http://127.0.0.1:{Port}");

    public IReadOnlyList<ReconciliationRequest> Requests(int pageSize, string runPrefix, params string[] providers)
        => ScenarioRequests.For(Scenario, null, pageSize, runPrefix).Where(r => providers.Length == 0 || providers.Contains(r.Provider)).ToList();

    /// <summary>Posts a request to the worker; returns the run id.</summary>
    public async Task<string> SubmitAsync(ReconciliationRequest request)
    {
        using var response = await Http.PostAsJsonAsync(new Uri(WorkerUrl, "/api/reconciliations"), request);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
    }

    /// <summary>Puts the request on this world's recon-ingest queue, as another system would.</summary>
    public async Task EnqueueIngestAsync(ReconciliationRequest request)
    {
        var ingest = new QueueClient(TestStack.Storage, IngestQueue);
        await ingest.CreateIfNotExistsAsync();
        await ingest.SendMessageAsync(JsonSerializer.Serialize(request, new JsonSerializerOptions(JsonSerializerDefaults.Web)));
    }

    /// <summary>Polls until every run's ingest completed and every batch is done or failed.</summary>
    public async Task<BatchStatusCounts> WaitForRunsAsync(IReadOnlyList<string> runIds, TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        BatchStatusCounts counts;
        while (true)
        {
            counts = await PipelineReport.StatusAsync(Db.DataSource, runIds);
            if (counts.AllFinished && await IngestsCompletedAsync(runIds))
            {
                return counts;
            }
            Assert.True(DateTime.UtcNow < deadline, $"runs not finished within {limit.TotalSeconds:0} s: {counts.Format()}");
            await Task.Delay(500);
        }
    }

    public async Task<long> ScalarAsync(string sql)
    {
        await using var cmd = Db.DataSource.CreateCommand(sql);
        return Convert.ToInt64(await cmd.ExecuteScalarAsync() ?? 0L, CultureInfo.InvariantCulture);
    }

    private async Task<bool> IngestsCompletedAsync(IReadOnlyList<string> runIds)
    {
        foreach (var runId in runIds)
        {
            try
            {
                var status = await Http.GetFromJsonAsync<JsonElement>(new Uri(WorkerUrl, $"/api/reconciliations/{runId}"));
                if (status.GetProperty("runtimeStatus").GetString() != "Completed")
                {
                    return false;
                }
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }
        return true;
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        var queues = new QueueServiceClient(TestStack.Storage);
        foreach (var suffix in new[] { "-ingest", "-ingest-poison", "-high", "-low", "-high-poison", "-low-poison" })
        {
            await queues.GetQueueClient(_queuePrefix + suffix).DeleteIfExistsAsync();
        }
        await Sandbox.DisposeAsync();
        await Db.DisposeAsync();
    }

    private static int FreePort()
    {
        using var l = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}

/// <summary>Recon.Worker as its own process (<c>dotnet Recon.Worker.dll</c>), so a test can kill it with SIGKILL.</summary>
public sealed class WorkerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _log = [];

    private WorkerProcess(Process process)
    {
        _process = process;
    }

    public int Id => _process.Id;

    public string LogTail => Tail(30);

    /// <summary>The last <paramref name="lines"/> lines the worker wrote (stdout and stderr).</summary>
    public string Tail(int lines)
    {
        lock (_log)
        {
            return string.Join('\n', _log.TakeLast(lines));
        }
    }

    public static async Task<WorkerProcess> StartAsync(IReadOnlyDictionary<string, string> environment, Uri url, TimeSpan startLimit)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "Recon.Worker.dll");
        Assert.True(File.Exists(dll), $"{dll} is missing: the test project references Recon.Worker, so the build copies it here");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(dll);
        foreach (var (k, v) in environment)
        {
            info.Environment[k] = v;
        }
        var process = Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start");
        var worker = new WorkerProcess(process);
        process.OutputDataReceived += (_, e) => worker.Add(e.Data);
        process.ErrorDataReceived += (_, e) => worker.Add(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + startLimit;
        while (true)
        {
            Assert.False(process.HasExited, $"the worker exited with {(process.HasExited ? process.ExitCode : 0)}:\n{worker.LogTail}");
            try
            {
                using var r = await http.GetAsync(new Uri(url, "/api/health"));
                if (r.IsSuccessStatusCode)
                {
                    return worker;
                }
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }
            catch (TaskCanceledException)
            {
                // slow to answer under load
            }
            Assert.True(DateTime.UtcNow < deadline, $"the worker did not answer within {startLimit.TotalSeconds:0} s:\n{worker.LogTail}");
            await Task.Delay(300);
        }
    }

    /// <summary>SIGKILL: no shutdown hooks, no lease release, work items in flight stay leased until their visibility timeout.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: false);
        await _process.WaitForExitAsync();
    }

    private void Add(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_log)
        {
            _log.Add(line);
            // RECON_WORKER_LOG_DIR keeps every line of every worker process, for a run that has to be studied afterwards
            if (Environment.GetEnvironmentVariable("RECON_WORKER_LOG_DIR") is { Length: > 0 } dir)
            {
                File.AppendAllText(Path.Combine(dir, $"worker-{_process.Id}.log"), $"{DateTime.UtcNow:HH:mm:ss.fff} {line}\n");
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            // SIGTERM first: a clean stop releases its leases
            using (var term = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                await term.WaitForExitAsync();
            }
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(40));
            try
            {
                await _process.WaitForExitAsync(wait.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill();
            }
        }
        _process.Dispose();
    }
}

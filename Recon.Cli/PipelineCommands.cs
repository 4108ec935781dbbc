using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Npgsql;
using Recon.Core.Persistence;
using Recon.Core.Pipeline;

namespace Recon.Cli;

/// <summary>What the pipeline verbs share: the database, the running worker, the runs to look at.</summary>
internal static class PipelineCli
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static NpgsqlDataSource DataSource(IConfiguration configuration)
        => ReconDataSource.Create(configuration.GetSection(DatabaseOptions.SectionName).Get<DatabaseOptions>() ?? new DatabaseOptions());

    /// <summary>The worker's base address: <c>--worker</c>, else <c>RECON_WORKER_URL</c> (written by ./recon up).</summary>
    public static Uri WorkerUrl(IConfiguration configuration, string? overrideUrl)
    {
        var url = overrideUrl ?? configuration["RECON_WORKER_URL"];
        if (string.IsNullOrEmpty(url) || !Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            throw new UsageException("no worker address: run ./recon up (it starts Recon.Worker and writes RECON_WORKER_URL to .recon/env) or pass --worker http://127.0.0.1:PORT");
        }
        return uri;
    }

    /// <summary>Fails with a clear message when nothing answers at <paramref name="worker"/>.</summary>
    public static async Task EnsureWorkerAsync(HttpClient http, Uri worker)
    {
        try
        {
            using var r = await http.GetAsync(new Uri(worker, "/api/health")).ConfigureAwait(false);
            r.EnsureSuccessStatusCode();
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            throw new UsageException($"Recon.Worker is not answering at {worker} ({ex.Message}); start it with ./recon up (log: .recon/procs/worker.log)");
        }
    }

    /// <summary>Posts a request; returns the run id and whether this call started it.</summary>
    public static async Task<(string RunId, bool Started)> SubmitAsync(HttpClient http, Uri worker, ReconciliationRequest request)
    {
        using var response = await http.PostAsJsonAsync(new Uri(worker, "/api/reconciliations"), request, Json).ConfigureAwait(false);
        var body = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"the worker refused the {request.Provider} request ({(int)response.StatusCode}): {body}");
        }
        using var doc = JsonDocument.Parse(body);
        return (doc.RootElement.GetProperty("id").GetString()!, doc.RootElement.GetProperty("started").GetBoolean());
    }

    /// <summary>The ingest orchestration's status of a run ("Completed", "Running", ...), or "unknown" when the worker has no such run.</summary>
    public static async Task<string> RunStatusAsync(HttpClient http, Uri worker, string runId)
    {
        using var response = await http.GetAsync(new Uri(worker, $"/api/reconciliations/{Uri.EscapeDataString(runId)}")).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            return "unknown";
        }
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync().ConfigureAwait(false));
        return doc.RootElement.GetProperty("runtimeStatus").GetString() ?? "unknown";
    }

    /// <summary>Repeatable <c>--run ID</c> options.</summary>
    public static List<string> Runs(string[] args, string usage)
    {
        var runs = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] != "--run" || i + 1 >= args.Length)
            {
                throw new UsageException($"unexpected argument '{args[i]}'. usage: {usage}");
            }
            runs.Add(args[++i]);
        }
        return runs;
    }
}

/// <summary><c>recon status [--run ID]...</c>: batches by status per run, from PostgreSQL.</summary>
internal static class StatusCommand
{
    private const string Usage = "recon status [--run ID]...";

    public static async Task<int> RunAsync(string[] args, IConfiguration configuration)
    {
        var runs = PipelineCli.Runs(args, Usage);
        await using var dataSource = PipelineCli.DataSource(configuration);
        await using var connection = await dataSource.OpenConnectionAsync().ConfigureAwait(false);
        var rows = await PipelineReport.RunsAsync(connection, runs, limit: 50).ConfigureAwait(false);
        var any = rows.Count > 0;
        Console.WriteLine($"{"run",-30} {"first queued (UTC)",-20} {"batches",7} {"queued",6} {"running",7} {"done",5} {"failed",6} {"late",4}");
        foreach (var row in rows)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{row.RunId,-30} {row.FirstQueuedAt.UtcDateTime:yyyy-MM-dd HH:mm:ss} {row.Total,7} {row.Queued,6} {row.Running,7} {row.Done,5} {row.Failed,6} {row.Late,4}"));
            if (row.LastFailure is not null)
            {
                Console.WriteLine($"  last failure: {row.LastFailure}");
            }
        }
        if (!any)
        {
            Console.WriteLine(runs.Count == 0 ? "no batches yet: submit one with recon ingest or run ./recon demo" : "no batches for those runs");
        }
        return 0;
    }
}

/// <summary><c>recon report [--run ID]...</c>: verdicts per provider, batch latency by priority, provider calls.</summary>
internal static class ReportCommand
{
    private const string Usage = "recon report [--run ID]...";

    public static async Task<int> RunAsync(string[] args, IConfiguration configuration)
    {
        var runs = PipelineCli.Runs(args, Usage);
        await using var dataSource = PipelineCli.DataSource(configuration);
        var status = await PipelineReport.StatusAsync(dataSource, runs).ConfigureAwait(false);
        Console.WriteLine($"batches: {status.Format()}");
        Console.WriteLine();
        Console.Write(PipelineReport.Format(
            await PipelineReport.ResultsAsync(dataSource, runs).ConfigureAwait(false),
            await PipelineReport.LatencyAsync(dataSource, runs).ConfigureAwait(false),
            await PipelineReport.CallsAsync(dataSource, runs).ConfigureAwait(false)));
        return 0;
    }
}

/// <summary><c>recon ingest --provider P --account A --from yyyy-MM-dd --to yyyy-MM-dd [--page-size N] [--run-id ID]</c>.</summary>
internal static class IngestCommand
{
    private const string Usage = "recon ingest --provider P --account A --from yyyy-MM-dd --to yyyy-MM-dd [--page-size N] [--run-id ID] [--worker URL]";

    public static async Task<int> RunAsync(string[] args, IConfiguration configuration)
    {
        var a = new CliArgs(args, Usage, "--provider", "--account", "--from", "--to", "--page-size", "--run-id", "--worker");
        var request = new ReconciliationRequest(a.Required("--provider"), a.Required("--account"), Date(a.Required("--from"), "--from"), Date(a.Required("--to"), "--to"),
            PageSize: a.Int("--page-size", ReconciliationRequests.DefaultPageSize, 1, ReconciliationRequests.MaxPageSize), RunId: a.Get("--run-id"));
        var errors = ReconciliationRequests.Validate(request);
        if (errors.Count > 0)
        {
            throw new UsageException(string.Join("; ", errors));
        }
        var worker = PipelineCli.WorkerUrl(configuration, a.Get("--worker"));
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        await PipelineCli.EnsureWorkerAsync(http, worker).ConfigureAwait(false);
        var (runId, started) = await PipelineCli.SubmitAsync(http, worker, request).ConfigureAwait(false);
        Console.WriteLine(started ? $"run {runId} started; follow it with: ./recon status --run {runId}" : $"run {runId} already exists (the same request is the same run); ./recon status --run {runId}");
        return 0;
    }

    private static DateOnly Date(string text, string name)
        => DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d) ? d : throw new UsageException($"{name} '{text}' is not a date (yyyy-MM-dd)");
}

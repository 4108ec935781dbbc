using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Configuration;
using Npgsql;
using Recon.Core.Persistence;
using Recon.Core.Pipeline;
using Recon.Sandbox;
using Recon.Sandbox.Scenarios;

namespace Recon.Cli;

/// <summary>
/// <c>recon demo</c>: a realistic day-by-day world for all four providers from the scenario generator, submitted to the
/// running Recon.Worker, with progress while the batches run and the report at the end. Exit 0 when every batch is
/// done; 1 when any failed or the bounded wait ran out.
/// </summary>
internal static class DemoCommand
{
    private const string Usage = "recon demo [--seed N] [--size N] [--page-size N] [--timeout-seconds N] [--worker URL] [--idle-seconds N]";

    /// <summary>How often progress is read; a line is printed when the counts change, and at least every 15 s.</summary>
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(2);

    private static readonly TimeSpan QuietPrintInterval = TimeSpan.FromSeconds(15);

    public static async Task<int> RunAsync(string[] args, IConfiguration configuration)
    {
        var a = new CliArgs(args, Usage, "--seed", "--size", "--page-size", "--timeout-seconds", "--worker", "--idle-seconds");
        var seed = a.Int("--seed", 42, 0, int.MaxValue);
        // 3,000 events: about 1,500 Stripe charges with their payouts and refunds, 600 bank A and 450 bank B lines, 450
        // card transactions over two weeks — about a hundred batches, a minute or two here, every path exercised
        var size = a.Int("--size", 3_000, 1, ScenarioGenerator.MaxSize);
        var pageSize = a.Int("--page-size", 50, 1, ReconciliationRequests.MaxPageSize);
        var timeout = TimeSpan.FromSeconds(a.Int("--timeout-seconds", 900, 10, 86_400));
        var worker = PipelineCli.WorkerUrl(configuration, a.Get("--worker"));
        // after the last batch, the stack's CPU with nothing to do (0: skip)
        var idleSeconds = a.Int("--idle-seconds", 30, 0, 3_600);
        var sandboxUrl = configuration["Recon:Sandbox:Url"];
        var adminKey = configuration["Recon:Sandbox:AdminKey"];
        if (string.IsNullOrEmpty(sandboxUrl) || string.IsNullOrEmpty(adminKey))
        {
            throw new UsageException("Recon:Sandbox:Url and Recon:Sandbox:AdminKey are not set: run it as ./recon demo (it brings the stack up first)");
        }
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(2) };
        await PipelineCli.EnsureWorkerAsync(http, worker).ConfigureAwait(false);
        await using var dataSource = PipelineCli.DataSource(configuration);

        var clock = Stopwatch.StartNew();
        var scenario = ScenarioGenerator.Generate(seed, size);
        var sandbox = new SandboxAdminClient(http, sandboxUrl, adminKey);
        // the sandbox and the database hold only this demo's world: another seed or size reuses ledger ids with other
        // contents, and verdicts of an earlier world would hold ledger entries this one needs
        await sandbox.ResetAsync().ConfigureAwait(false);
        await ResetDemoDataAsync(dataSource).ConfigureAwait(false);
        await ScenarioLoader.LoadAsync(scenario, dataSource, sandbox, CancellationToken.None).ConfigureAwait(false);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"scenario seed {seed} size {size}: {scenario.Ledger.Count} ledger entries; provider side: {scenario.StripeBalanceTransactions.Count} Stripe balance transactions, " +
            $"{scenario.PlaidEvents.Count} Plaid changes, {scenario.BankAStatements.Count} bank A and {scenario.BankBStatements.Count} bank B statements; {scenario.Truth.Count} truth rows"));

        var runPrefix = "demo-" + DateTime.UtcNow.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture);
        var requests = ScenarioRequests.For(scenario, null, pageSize, runPrefix);
        await using var sampler = ServerConnections.Start(configuration);
        var runIds = new List<string>();
        foreach (var request in requests)
        {
            var (runId, _) = await PipelineCli.SubmitAsync(http, worker, request).ConfigureAwait(false);
            runIds.Add(runId);
            Console.WriteLine($"submitted {request.Provider,-7} {request.Account} {request.From:yyyy-MM-dd}..{request.To:yyyy-MM-dd} page size {request.PageSize}: run {runId}");
        }

        var deadline = DateTime.UtcNow + timeout;
        BatchStatusCounts counts;
        var lastLine = "";
        var lastPrint = DateTime.MinValue;
        var ingestsDone = false;
        while (true)
        {
            counts = await PipelineReport.StatusAsync(dataSource, runIds).ConfigureAwait(false);
            if (!ingestsDone)
            {
                ingestsDone = true;
                foreach (var runId in runIds)
                {
                    ingestsDone &= await PipelineCli.RunStatusAsync(http, worker, runId).ConfigureAwait(false) == "Completed";
                }
            }
            var line = counts.Format();
            if (line != lastLine || DateTime.UtcNow - lastPrint > QuietPrintInterval)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{clock.Elapsed.TotalSeconds,6:0}s] batches: {line}"));
                lastLine = line;
                lastPrint = DateTime.UtcNow;
            }
            if (ingestsDone && counts.AllFinished)
            {
                break;
            }
            if (DateTime.UtcNow > deadline)
            {
                Console.Error.WriteLine($"recon demo: not finished after {timeout.TotalSeconds:0} s: {line}. The worker's log is .recon/procs/worker.log; ./recon status --run {runIds[0]} shows where it stands.");
                return 1;
            }
            await Task.Delay(PollInterval).ConfigureAwait(false);
        }
        var elapsed = clock.Elapsed;
        var peak = sampler is null ? null : await sampler.StopAsync().ConfigureAwait(false);

        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"=== report: {counts.Total} batches in {elapsed.TotalSeconds:0} s (scenario load included) ==="));
        Console.Write(PipelineReport.Format(
            await PipelineReport.ResultsAsync(dataSource, runIds).ConfigureAwait(false),
            await PipelineReport.LatencyAsync(dataSource, runIds).ConfigureAwait(false),
            await PipelineReport.CallsAsync(dataSource, runIds).ConfigureAwait(false)));
        var counters = await sandbox.CountersAsync().ConfigureAwait(false);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"sandbox side: {counters.Total.Requests} provider requests, {counters.Total.Ok} ok, {counters.Total.Throttled} answered 429, {counters.Total.ServerErrors} 5xx, {counters.Total.Hangs} held past the call timeout, {counters.Total.Rejected} other 4xx (a bank's 404 for a day without a statement is an empty page)"));
        Console.WriteLine(peak is { } p
            ? string.Create(CultureInfo.InvariantCulture, $"peak PostgreSQL server connections to '{p.Database}': {p.Peak} ({p.Samples} samples of pg_stat_activity)")
            : "peak PostgreSQL server connections: not sampled (Recon:Database:AdminConnectionString is not set)");
        var comparison = await PipelineReport.CompareAsync(dataSource, ScenarioRequests.Truth(scenario)).ConfigureAwait(false);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"against the scenario truth ({comparison.TruthRows} provider transactions, {comparison.TruthPairs} that should match): matched precision {comparison.Precision:0.000}, " +
            $"recall {comparison.Recall:0.000}; matched or proposed with the right ledger entries {comparison.Coverage:0.000}"));
        foreach (var wrong in comparison.WrongExamples)
        {
            Console.WriteLine($"  wrong: {wrong}");
        }
        if (idleSeconds > 0)
        {
            var idle = await StackCpu.MeasureAsync(configuration["RECON_STACK_DIR"], TimeSpan.FromSeconds(idleSeconds)).ConfigureAwait(false);
            Console.WriteLine(idle.Count == 0
                ? "idle CPU of the stack: not measured (RECON_STACK_DIR is not set or this is not Linux)"
                : string.Create(CultureInfo.InvariantCulture,
                    $"idle CPU of the stack over {idleSeconds} s after the last batch: {idle.Sum(p => p.PercentOfCore):0.0}% of a core ({string.Join(", ", idle.Select(p => $"{p.Name} {p.PercentOfCore:0.0}%"))})"));
        }
        var failed = counts.Count(BatchStatuses.Failed);
        if (failed > 0)
        {
            Console.Error.WriteLine($"recon demo: {failed} of {counts.Total} batches failed; ./recon status --run <run> shows the last error of each run.");
            return 1;
        }
        Console.WriteLine($"all {counts.Total} batches done. Runs: {string.Join(", ", runIds)} (./recon report --run ID)");
        return 0;
    }

    /// <summary>Clears the reconciliation data of the local database (ledger, provider transactions, cursors, verdicts,
    /// exceptions); the audit log is append-only and stays, and so does the batch history (reports are scoped by run).</summary>
    private static async Task ResetDemoDataAsync(NpgsqlDataSource dataSource)
    {
        await using var connection = await dataSource.OpenConnectionAsync().ConfigureAwait(false);
        await using var tx = await connection.BeginTransactionAsync().ConfigureAwait(false);
        foreach (var table in new[] { "exceptions", "reconciliation_results", "provider_cursors", "provider_transactions", "ledger_entries" })
        {
            await using var cmd = new NpgsqlCommand($"delete from {table}", connection, tx);
            await cmd.ExecuteNonQueryAsync().ConfigureAwait(false);
        }
        await tx.CommitAsync().ConfigureAwait(false);
    }

    /// <summary>Samples pg_stat_activity straight from PostgreSQL (not through PgBouncer) and keeps the peak.</summary>
    private sealed class ServerConnections : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task<(int Peak, int Samples)> _loop;
        private readonly string _database;

        private ServerConnections(string admin, string database)
        {
            _database = database;
            _loop = Task.Run(() => SampleAsync(admin, database, _stop.Token));
        }

        public static ServerConnections? Start(IConfiguration configuration)
        {
            var admin = configuration["Recon:Database:AdminConnectionString"];
            var database = new NpgsqlConnectionStringBuilder(configuration["Recon:Database:ConnectionString"] ?? "").Database;
            return string.IsNullOrEmpty(admin) || string.IsNullOrEmpty(database) ? null : new ServerConnections(admin, database);
        }

        public async Task<(string Database, int Peak, int Samples)?> StopAsync()
        {
            await _stop.CancelAsync().ConfigureAwait(false);
            var (peak, samples) = await _loop.ConfigureAwait(false);
            return (_database, peak, samples);
        }

        private static async Task<(int, int)> SampleAsync(string admin, string database, CancellationToken ct)
        {
            await using var conn = new NpgsqlConnection(admin);
            await conn.OpenAsync(CancellationToken.None).ConfigureAwait(false);
            await using var cmd = new NpgsqlCommand(
                "select count(*)::int from pg_stat_activity where datname = $1 and backend_type = 'client backend' and pid <> pg_backend_pid()", conn);
            cmd.Parameters.Add(new() { Value = database });
            int peak = 0, samples = 0;
            while (!ct.IsCancellationRequested)
            {
                peak = Math.Max(peak, (int)(await cmd.ExecuteScalarAsync(CancellationToken.None).ConfigureAwait(false))!);
                samples++;
                try
                {
                    await Task.Delay(100, ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
            return (peak, samples);
        }

        public async ValueTask DisposeAsync()
        {
            if (!_stop.IsCancellationRequested)
            {
                await StopAsync().ConfigureAwait(false);
            }
            _stop.Dispose();
        }
    }
}

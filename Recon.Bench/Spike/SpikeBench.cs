using System.Collections;
using Azure.Storage.Queues;
using Microsoft.Extensions.Configuration;
using Recon.Core.Matching;
using Recon.Core.Persistence;

namespace Recon.Bench.Spike;

/// <summary>Wires the benchmark to the local stack: its own database, the sandbox, Redis, and the two modes.</summary>
public static class SpikeBench
{
    /// <summary>Settings passed on to the product's workers as they are, when the bench's environment has them: how the
    /// product is configured (matching, budget, dispatcher, priorities, worker), never where it connects.</summary>
    private static readonly string[] InheritedPrefixes =
        ["Recon__Matching__", "Recon__ConnectionBudget__", "Recon__Dispatcher__", "Recon__Priority__", "Recon__Pipeline__", "Recon__Worker__", "Recon__Queues__", "RECON_"];

    /// <param name="workers">Recon.Worker processes the product mode starts on its one task hub.</param>
    public static async Task<SpikeReport> RunAsync(IConfiguration configuration, SpikeWorkloadOptions workload, IReadOnlyList<string> modes,
        string command, Action<string> log, CancellationToken cancellationToken, int? sandboxPort = null, int workers = 1)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(log);
        ArgumentNullException.ThrowIfNull(modes);
        ArgumentOutOfRangeException.ThrowIfLessThan(workers, 1);
        var pgBouncer = Required(configuration, "Recon:Database:ConnectionString");
        var admin = Required(configuration, "Recon:Database:AdminConnectionString");
        var redis = Required(configuration, "Recon:Redis:Configuration");
        var storage = Required(configuration, "Recon:Storage:ConnectionString");
        var root = configuration["RECON_ROOT"] ?? Environment.GetEnvironmentVariable("RECON_ROOT");
        string? workerDll = null;
        if (modes.Contains("recon"))
        {
            workerDll = WorkerProcess.FindWorkerDll(root)
                ?? throw new InvalidOperationException("Recon.Worker is not built (Recon.Worker/bin/Release/net10.0/Recon.Worker.dll): run ./recon up or dotnet build Recon.Worker first; the recon mode runs the product's own worker.");
        }
        // the deployment's connection budget (Recon:ConnectionBudget, defaults as deployed): the pool size the product's
        // peak server connections are judged against
        var budget = new ConnectionBudget(configuration.GetSection(ConnectionBudgetOptions.SectionName).Get<ConnectionBudgetOptions>() ?? new());
        // its own sandbox on a free loopback port unless the caller picks one: the stack's sandbox (RECON_SANDBOX_PORT,
        // started by ./recon up) keeps running beside it, and the bench's counters must be the bench's alone
        sandboxPort ??= 0;

        await using var database = await SpikeDatabase.CreateAsync(admin, pgBouncer, cancellationToken).ConfigureAwait(false);
        log($"database {database.Name} created and migrated");
        await using var sandbox = await SandboxStripeHost.StartAsync(sandboxPort.Value, database, cancellationToken).ConfigureAwait(false);
        log($"Stripe sandbox at {sandbox.BaseUrl} (100 req/s global, 25 per endpoint)");

        var queues = new QueueServiceClient(storage, SpikeArrivals.QueueOptions());
        // the matcher's rules as configured (Recon:Matching), the defaults otherwise: the naive mode matches as the product does
        var matching = configuration.GetSection("Recon:Matching");
        var matcher = new Matcher(matching.Exists() ? MatchRules.FromConfiguration(matching) : new MatchRules());
        var inherited = Environment.GetEnvironmentVariables().Cast<DictionaryEntry>()
            .Select(e => (Key: (string)e.Key, Value: e.Value as string ?? ""))
            .Where(e => InheritedPrefixes.Any(p => e.Key.StartsWith(p, StringComparison.Ordinal)) && e.Key != "RECON_WORKER_PORT" && e.Key != "Recon__Worker__Port")
            .ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal);

        // each mode on its own fresh Azurite (the one ./recon up installs): the naive mode's storm of immediate
        // redeliveries leaves a single-process Azurite busy for minutes, which must not slow the product run after it
        var azurite = AzuriteProcess.FindBinary(root);
        if (azurite is null)
        {
            log("no Azurite binary under .tools (./recon up installs it): both modes use the stack's Azurite, one after the other");
        }
        var all = new Dictionary<string, Func<ISpikeMode>>(StringComparer.Ordinal)
        {
            ["naive"] = () => new AzuriteIsolatedMode((q, _) => new NaiveMode(database, sandbox.Caller(rateLimiter: null), matcher, q), queues, storage, azurite),
            ["recon"] = () => new AzuriteIsolatedMode((q, connection) => new ProductMode(database, sandbox, new ProductModeSettings(workers, workerDll!, redis, inherited), q, connection),
                queues, storage, azurite),
        };
        return await SpikeRunner.RunAsync(workload, SpikeLimits.Stripe(budget.Options.PgBouncerDefaultPoolSize), database, sandbox,
            modes.Select(m => all.TryGetValue(m, out var create) ? create() : throw new ArgumentException($"unknown mode '{m}' (naive, recon)", nameof(modes))).ToList(),
            command, log, cancellationToken).ConfigureAwait(false);
    }

    private static string Required(IConfiguration configuration, string key)
        => configuration[key] is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException($"{key} is not set (env {key.Replace(":", "__", StringComparison.Ordinal)}): run ./recon up, which writes .recon/env.");
}

using Azure.Storage.Queues;
using Microsoft.Extensions.Configuration;
using Recon.Core.Matching;
using Recon.Core.Persistence;
using Recon.Core.RateLimiting;
using Recon.Core.RateLimiting.Redis;

namespace Recon.Cli.Bench.Spike;

/// <summary>Wires the benchmark to the local stack: its own database, the sandbox, Redis, and the two modes.</summary>
public static class SpikeBench
{
    public static async Task<SpikeReport> RunAsync(IConfiguration configuration, SpikeWorkloadOptions workload, IReadOnlyList<string> modes,
        string command, Action<string> log, CancellationToken cancellationToken, int? sandboxPort = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(log);
        var pgBouncer = Required(configuration, "Recon:Database:ConnectionString");
        var admin = Required(configuration, "Recon:Database:AdminConnectionString");
        var redis = Required(configuration, "Recon:Redis:Configuration");
        var storage = Required(configuration, "Recon:Storage:ConnectionString");
        // the deployment's connection budget (Recon:ConnectionBudget, defaults as deployed): each worker instance the
        // bench stands in for gets the budget's per-instance share as its bulkhead and pool, checked like every host does
        var budget = new ConnectionBudget(configuration.GetSection(ConnectionBudgetOptions.SectionName).Get<ConnectionBudgetOptions>() ?? new());
        // its own sandbox on a free loopback port unless the caller picks one: the stack's sandbox (RECON_SANDBOX_PORT,
        // started by ./recon up) keeps running beside it, and the bench's counters must be the bench's alone
        sandboxPort ??= 0;

        await using var database = await SpikeDatabase.CreateAsync(admin, pgBouncer, cancellationToken).ConfigureAwait(false);
        log($"database {database.Name} created and migrated");
        await using var sandbox = await SandboxStripeHost.StartAsync(sandboxPort.Value, database, cancellationToken).ConfigureAwait(false);
        log($"Stripe sandbox at {sandbox.BaseUrl} (100 req/s global, 25 per endpoint)");
        await using var multiplexer = await RedisConnectionFactory.ConnectAsync(redis).ConfigureAwait(false);
        var rateLimits = new RateLimitOptions { KeyPrefix = $"recon:spike:{Guid.NewGuid():N}" };
        var limiter = new RedisProviderRateLimiter(multiplexer, rateLimits);
        var dbOptions = new DatabaseOptions { ConnectionString = database.ViaPgBouncer, MaxConcurrentOperations = checked((int)budget.ClientConnectionsPerInstance) };
        budget.EnsureFits(dbOptions);
        // the bench stands in for as many worker instances as PgBouncer's pool serves at the budget's per-instance share
        // (50 / 8 = 6 by default): the scale-out the story's "steady 50" server connections carry, each instance with
        // its own pool and bulkhead
        var instances = (int)Math.Clamp(budget.Options.PgBouncerDefaultPoolSize / budget.ClientConnectionsPerInstance, 1, budget.Options.MaxInstances);
        var dataSources = new List<Npgsql.NpgsqlDataSource>();
        var bulkheads = new List<DatabaseBulkhead>();
        try
        {
            for (var i = 0; i < instances; i++)
            {
                var dataSource = ReconDataSource.Create(dbOptions);
                dataSources.Add(dataSource);
                bulkheads.Add(new DatabaseBulkhead(dataSource, dbOptions));
            }
            return await RunModesAsync(configuration, workload, modes, command, log, database, sandbox, limiter, bulkheads, budget, storage, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            foreach (var b in bulkheads)
            {
                b.Dispose();
            }
            foreach (var d in dataSources)
            {
                await d.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static async Task<SpikeReport> RunModesAsync(IConfiguration configuration, SpikeWorkloadOptions workload, IReadOnlyList<string> modes, string command,
        Action<string> log, SpikeDatabase database, SandboxStripeHost sandbox, RedisProviderRateLimiter limiter, List<DatabaseBulkhead> bulkheads,
        ConnectionBudget budget, string storage, CancellationToken cancellationToken)
    {
        var queues = new QueueServiceClient(storage, SpikeArrivals.QueueOptions());
        // the matcher's rules as configured (Recon:Matching), the defaults otherwise: both modes match the same way
        var matching = configuration.GetSection("Recon:Matching");
        var matcher = new Matcher(matching.Exists() ? MatchRules.FromConfiguration(matching) : new MatchRules());

        // each mode on its own fresh Azurite (the one ./recon up installs): the naive mode's storm of immediate
        // redeliveries leaves a single-process Azurite busy for minutes, which must not slow the recon run after it
        var azurite = AzuriteProcess.FindBinary(configuration["RECON_ROOT"] ?? Environment.GetEnvironmentVariable("RECON_ROOT"));
        if (azurite is null)
        {
            log("no Azurite binary under .tools (./recon up installs it): both modes use the stack's Azurite, one after the other");
        }
        var all = new Dictionary<string, ISpikeMode>(StringComparer.Ordinal)
        {
            ["naive"] = new AzuriteIsolatedMode(q => new NaiveMode(database, sandbox.Caller(rateLimiter: null), matcher, q), queues, azurite),
            ["recon"] = new AzuriteIsolatedMode(q => new ReconMode(bulkheads, limiter, sandbox.Caller(limiter), matcher, q, budget), queues, azurite),
        };
        return await SpikeRunner.RunAsync(workload, SpikeLimits.Stripe(budget.Options.PgBouncerDefaultPoolSize), database, sandbox,
            modes.Select(m => all[m]).ToList(), command, log, cancellationToken).ConfigureAwait(false);
    }

    private static string Required(IConfiguration configuration, string key)
        => configuration[key] is { Length: > 0 } value
            ? value
            : throw new UsageException($"{key} is not set (env {key.Replace(":", "__", StringComparison.Ordinal)}): run ./recon up, which writes .recon/env.");
}

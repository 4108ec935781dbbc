using Microsoft.Extensions.Configuration;
using Recon.Core.Persistence;
using Recon.Core.RateLimiting;
using Recon.Core.RateLimiting.Redis;

namespace Recon.Cli.Bench.Spike;

/// <summary>Wires the benchmark to the local stack: its own database, the sandbox, Redis, and the two modes.</summary>
public static class SpikeBench
{
    /// <summary>PgBouncer's default_pool_size in deploy/local/pgbouncer.ini: the most server connections Recon may hold.</summary>
    public const int PgBouncerPoolSize = 50;

    /// <summary>The bench process's bulkhead: its share of the connection budget. 16 keeps a 2-core machine's PostgreSQL
    /// busy without queueing inside it, well under the pool of 50.</summary>
    public const int BulkheadSize = 16;

    public static async Task<SpikeReport> RunAsync(IConfiguration configuration, SpikeWorkloadOptions workload, IReadOnlyList<string> modes,
        string command, Action<string> log, CancellationToken cancellationToken, int? sandboxPort = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(log);
        var pgBouncer = Required(configuration, "Recon:Database:ConnectionString");
        var admin = Required(configuration, "Recon:Database:AdminConnectionString");
        var redis = Required(configuration, "Recon:Redis:Configuration");
        // the stack's sandbox port (RECON_SANDBOX_PORT) unless the caller picks one (0: any free port)
        sandboxPort ??= int.TryParse(Environment.GetEnvironmentVariable("RECON_SANDBOX_PORT"), out var p) ? p : 0;

        await using var database = await SpikeDatabase.CreateAsync(admin, pgBouncer, cancellationToken).ConfigureAwait(false);
        log($"database {database.Name} created and migrated");
        await using var sandbox = await SandboxStripeHost.StartAsync(sandboxPort.Value, database, cancellationToken).ConfigureAwait(false);
        log($"Stripe sandbox at {sandbox.BaseUrl} (100 req/s global, 25 per endpoint)");
        await using var multiplexer = await RedisConnectionFactory.ConnectAsync(redis).ConfigureAwait(false);
        var rateLimits = new RateLimitOptions { KeyPrefix = $"recon:spike:{Guid.NewGuid():N}" };
        var limiter = new RedisProviderRateLimiter(multiplexer, rateLimits);
        var dbOptions = new DatabaseOptions { ConnectionString = database.ViaPgBouncer, MaxConcurrentOperations = BulkheadSize };
        await using var dataSource = ReconDataSource.Create(dbOptions);
        using var bulkhead = new DatabaseBulkhead(dataSource, dbOptions);

        var all = new Dictionary<string, ISpikeMode>(StringComparer.Ordinal)
        {
            ["naive"] = new NaiveMode(database, sandbox.Caller(rateLimiter: null)),
            ["recon"] = new ReconMode(bulkhead, limiter, sandbox.Caller(limiter)),
        };
        return await SpikeRunner.RunAsync(workload, SpikeLimits.Stripe(PgBouncerPoolSize), database, sandbox,
            modes.Select(m => all[m]).ToList(), command, log, cancellationToken).ConfigureAwait(false);
    }

    private static string Required(IConfiguration configuration, string key)
        => configuration[key] is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException($"{key} is not set (env {key.Replace(":", "__", StringComparison.Ordinal)}): run ./recon up, which writes .recon/env.");
}

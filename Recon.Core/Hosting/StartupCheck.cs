using Azure.Storage.Queues;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Recon.Core.Persistence;

namespace Recon.Core.Hosting;

/// <summary>Where the host's host.json is (Functions) and whether to apply migrations at start; set by the host.</summary>
public sealed class HostContractOptions
{
    /// <summary>The Functions host's host.json, read for its activity concurrency; null for Recon.Worker.</summary>
    public string? HostJsonPath { get; set; }
}

/// <summary>
/// Runs <see cref="ReconSettings"/> when the host starts (options <c>ValidateOnStart</c>, before any hosted service), then
/// builds the database and queue clients — construction only, no network — so a setting they refuse stops the app now.
/// </summary>
internal sealed class StartupCheckValidator(IConfiguration configuration, IServiceProvider services) : IValidateOptions<HostContractOptions>
{
    public ValidateOptionsResult Validate(string? name, HostContractOptions options)
    {
        var problems = ReconSettings.Problems(configuration, options.HostJsonPath).ToList();
        if (problems.Count == 0)
        {
            try
            {
                services.GetRequiredService<NpgsqlDataSource>();
                services.GetRequiredService<QueueServiceClient>();
            }
            catch (Exception ex) when (ex is InvalidOperationException or ArgumentException)
            {
                problems.Add(ex.Message);
            }
        }
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}

/// <summary>
/// Applies the embedded schema migrations when the host starts, before any trigger or hosted worker takes work
/// (<see cref="IHostedLifecycleService.StartingAsync"/>), so a new deployment never runs against an old schema.
/// </summary>
/// <remarks>
/// Chosen over an <c>azd</c> hook because it runs wherever the app runs — <c>azd up</c>, the pipeline, a zip deploy by hand,
/// Recon.Worker locally — and reaches PostgreSQL over the app's own network path and identity (an azd hook would need the
/// deployer's machine let through the server's firewall or private endpoint). Many instances starting at once are safe:
/// <see cref="Migrator"/> runs in one transaction under <c>pg_advisory_xact_lock</c> (transaction-scoped, so safe through
/// PgBouncer in transaction mode); the others wait, then find nothing to do. Set <c>Recon:Database:MigrateOnStart=false</c>
/// to leave migrations to <c>recon migrate</c>.
/// </remarks>
public sealed class SchemaMigrationOnStart(NpgsqlDataSource dataSource, DatabaseOptions database, ILogger<SchemaMigrationOnStart> logger) : IHostedLifecycleService
{
    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        if (!database.MigrateOnStart)
        {
            return;
        }
        try
        {
            var ran = await Migrator.ApplyAsync(dataSource, cancellationToken).ConfigureAwait(false);
            logger.LogInformation("Schema migrations applied at start: {Count} ({Names})", ran.Count, string.Join(", ", ran.Select(m => $"{m.Version:D4}_{m.Name}")));
        }
        catch (NpgsqlException ex)
        {
            throw new InvalidOperationException(
                $"Applying schema migrations at start failed: {ex.Message}. Check {DatabaseOptions.SectionName}:ConnectionString and that the app's identity may log in.", ex);
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

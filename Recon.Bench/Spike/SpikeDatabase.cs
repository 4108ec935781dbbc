using System.Globalization;
using Npgsql;
using Recon.Core.Persistence;

namespace Recon.Bench.Spike;

/// <summary>The bench's own database: created for the run, migrated, seeded with the ledger, dropped at the end.</summary>
public sealed class SpikeDatabase : IAsyncDisposable
{
    private readonly string _adminConnectionString;

    private SpikeDatabase(string adminConnectionString, string name, string pgBouncerConnectionString)
    {
        _adminConnectionString = adminConnectionString;
        Name = name;
        ViaPgBouncer = new NpgsqlConnectionStringBuilder(pgBouncerConnectionString) { Database = name }.ConnectionString;
        Direct = new NpgsqlConnectionStringBuilder(adminConnectionString) { Database = name }.ConnectionString;
    }

    public string Name { get; }

    /// <summary>Through PgBouncer (transaction mode): how Recon connects.</summary>
    public string ViaPgBouncer { get; }

    /// <summary>Straight to PostgreSQL: how the naive workers connect.</summary>
    public string Direct { get; }

    public string Admin => _adminConnectionString;

    public static async Task<SpikeDatabase> CreateAsync(string adminConnectionString, string pgBouncerConnectionString, CancellationToken cancellationToken)
    {
        var name = string.Create(CultureInfo.InvariantCulture, $"recon_spike_{Guid.NewGuid():N}")[..28];
        await using (var admin = new NpgsqlConnection(adminConnectionString))
        {
            await admin.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var create = new NpgsqlCommand($"create database {name}", admin);
            await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        var db = new SpikeDatabase(adminConnectionString, name, pgBouncerConnectionString);
        await using var dataSource = ReconDataSource.Create(new DatabaseOptions { ConnectionString = db.ViaPgBouncer, MaxConcurrentOperations = 2 });
        await Migrator.ApplyAsync(dataSource, cancellationToken).ConfigureAwait(false);
        return db;
    }

    /// <summary>Empties what a run writes, so the second mode starts from the same state as the first.</summary>
    public async Task ResetRunDataAsync(CancellationToken cancellationToken)
    {
        await using var conn = new NpgsqlConnection(Direct);
        await conn.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = new NpgsqlCommand("truncate reconciliation_results, provider_transactions, batches, runs, exceptions", conn);
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Batches the database holds as done: the ground truth for "completed exactly once".</summary>
    public async Task<int> CountDoneBatchesAsync(CancellationToken cancellationToken)
    {
        await using var conn = new NpgsqlConnection(Direct);
        await conn.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = new NpgsqlCommand("select count(*)::int from batches where status = 'done'", conn);
        return (int)(await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await using var admin = new NpgsqlConnection(_adminConnectionString);
        await admin.OpenAsync().ConfigureAwait(false);
        // PgBouncer may still hold idle server connections to this database; FORCE closes them
        await using var drop = new NpgsqlCommand($"drop database if exists {Name} with (force)", admin);
        try
        {
            await drop.ExecuteNonQueryAsync().ConfigureAwait(false);
        }
        catch (PostgresException ex)
        {
            // never hide the run's own outcome behind a failed cleanup: say what is left behind
            await Console.Error.WriteLineAsync($"recon bench: could not drop {Name}: {ex.SqlState} {ex.MessageText}; drop it by hand").ConfigureAwait(false);
        }
    }
}

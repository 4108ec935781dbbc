using Npgsql;
using Recon.Core.Persistence;

namespace Recon.Tests.Infrastructure;

/// <summary>
/// A fresh PostgreSQL database with every migration applied, reached through PgBouncer, dropped on dispose.
/// One per test class (as an <c>IClassFixture</c>) or per test, so tests run in parallel without seeing each other.
/// </summary>
public sealed class TestDatabase : IAsyncLifetime, IAsyncDisposable
{
    public string Name { get; } = $"recon_t_{Guid.NewGuid():N}"[..30];

    /// <summary>Through PgBouncer on 6432, as the application connects.</summary>
    public string ConnectionString => TestStack.PgBouncerFor(Name);

    /// <summary>Straight to PostgreSQL, for inspection.</summary>
    public string DirectConnectionString => TestStack.DirectFor(Name);

    public bool Migrate { get; init; } = true;

    private NpgsqlDataSource? _dataSource;

    /// <summary>A data source through PgBouncer with the settings the application uses.</summary>
    public NpgsqlDataSource DataSource => _dataSource ?? throw new InvalidOperationException("InitializeAsync has not run.");

    public DatabaseOptions Options(int maxConcurrentOperations = 8)
        => new() { ConnectionString = ConnectionString, MaxConcurrentOperations = maxConcurrentOperations };

    public async Task InitializeAsync()
    {
        await using (var admin = new NpgsqlConnection(TestStack.DirectConnectionString))
        {
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand($"create database {Name}", admin);
            await create.ExecuteNonQueryAsync();
        }
        _dataSource = ReconDataSource.Create(Options());
        if (Migrate)
        {
            await Migrator.ApplyAsync(_dataSource);
        }
    }

    async ValueTask IAsyncDisposable.DisposeAsync() => await DisposeAsync();

    public async Task DisposeAsync()
    {
        if (_dataSource is not null)
        {
            await _dataSource.DisposeAsync();
        }
        NpgsqlConnection.ClearAllPools();
        await using var admin = new NpgsqlConnection(TestStack.DirectConnectionString);
        await admin.OpenAsync();
        // PgBouncer may still hold idle server connections to this database; FORCE closes them. A session that
        // cannot be terminated (42501: another role's, 55006: still starting) usually ends on its own: try again a
        // few times, a bounded loop, rather than fail a test that passed over its clean-up.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await using var drop = new NpgsqlCommand($"drop database if exists {Name} with (force)", admin);
                await drop.ExecuteNonQueryAsync();
                return;
            }
            catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.InsufficientPrivilege or PostgresErrorCodes.ObjectInUse && attempt < MaxDropAttempts)
            {
                await Task.Delay(DropRetryDelay);
            }
        }
    }

    private const int MaxDropAttempts = 10;

    private static readonly TimeSpan DropRetryDelay = TimeSpan.FromMilliseconds(500);
}

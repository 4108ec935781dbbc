namespace Recon.Core.Persistence;

/// <summary>How this process reaches PostgreSQL (through PgBouncer) and how many operations may use it at once.</summary>
/// <remarks>
/// Bound from the <c>Recon:Database</c> configuration section. <see cref="MaxConcurrentOperations"/> is the
/// in-process bulkhead and also the Npgsql pool size, so a process can never hold more client connections
/// than the connection budget gave it.
/// </remarks>
public sealed class DatabaseOptions
{
    public const string SectionName = "Recon:Database";

    /// <summary>Connection string to PgBouncer (transaction mode), e.g. port 6432.</summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>
    /// Operations allowed to use the database at once in this process. 8 by default: with 2 cores a worker
    /// gains nothing from more, and 8 × instances stays far below PgBouncer's max_client_conn of 1000.
    /// </summary>
    public int MaxConcurrentOperations { get; set; } = 8;

    /// <summary>How long a caller waits for a bulkhead slot before failing with a clear error.</summary>
    public TimeSpan BulkheadWaitTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Apply the schema migrations when a host starts (<c>SchemaMigrationOnStart</c>): true, so a deployment
    /// brings its schema with it; false leaves them to <c>recon migrate</c>.</summary>
    public bool MigrateOnStart { get; set; } = true;

    /// <summary>Per-command timeout; batches must finish inside a 30 s window, so a command may use a third of it.</summary>
    public int CommandTimeoutSeconds { get; set; } = 10;
}

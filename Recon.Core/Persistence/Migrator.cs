using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using Npgsql;

namespace Recon.Core.Persistence;

/// <summary>One schema migration: an ordered SQL file embedded in Recon.Core.</summary>
public sealed record Migration(int Version, string Name, string Sql)
{
    public string Checksum { get; } = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Sql)));
}

/// <summary>
/// Applies the embedded migrations in order and records each in <c>schema_migrations</c>.
/// </summary>
/// <remarks>
/// Everything runs in one transaction under <c>pg_advisory_xact_lock</c>: a second process waits, then finds the
/// work done; a failing migration leaves nothing behind. The transaction-scoped lock (not a session lock) is the
/// one that is safe through PgBouncer in transaction mode. A migration whose text changed after it was applied
/// is refused rather than silently skipped.
/// </remarks>
public static class Migrator
{
    private const long LockKey = 0x5245434F4E; // "RECON"
    private const string ResourcePrefix = "Recon.Migrations.";

    public static IReadOnlyList<Migration> Embedded { get; } = LoadEmbedded();

    public static async Task<IReadOnlyList<Migration>> ApplyAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);

        await ExecAsync(connection, tx, $"select pg_advisory_xact_lock({LockKey})", cancellationToken).ConfigureAwait(false);
        await ExecAsync(connection, tx, """
            create table if not exists schema_migrations (
                version    integer primary key,
                name       text not null,
                checksum   text not null,
                applied_at timestamptz not null default now())
            """, cancellationToken).ConfigureAwait(false);

        var applied = new Dictionary<int, (string Name, string Checksum)>();
        await using (var cmd = new NpgsqlCommand("select version, name, checksum from schema_migrations", connection, tx))
        await using (var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                applied[reader.GetInt32(0)] = (reader.GetString(1), reader.GetString(2));
            }
        }

        var ran = new List<Migration>();
        foreach (var migration in Embedded)
        {
            if (applied.TryGetValue(migration.Version, out var existing))
            {
                if (existing.Checksum != migration.Checksum)
                {
                    throw new InvalidOperationException(
                        $"Migration {migration.Version:D4}_{migration.Name} was changed after it was applied (checksum {existing.Checksum[..12]} in the database, {migration.Checksum[..12]} in the code). Add a new migration instead of editing an applied one.");
                }
                continue;
            }
            try
            {
                await ExecAsync(connection, tx, migration.Sql, cancellationToken).ConfigureAwait(false);
            }
            catch (PostgresException ex)
            {
                throw new InvalidOperationException($"Migration {migration.Version:D4}_{migration.Name} failed: {ex.MessageText} (SQLSTATE {ex.SqlState}, position {ex.Position}).", ex);
            }
            await using var record = new NpgsqlCommand("insert into schema_migrations (version, name, checksum) values ($1, $2, $3)", connection, tx);
            record.Parameters.Add(new() { Value = migration.Version });
            record.Parameters.Add(new() { Value = migration.Name });
            record.Parameters.Add(new() { Value = migration.Checksum });
            await record.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            ran.Add(migration);
        }

        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return ran;
    }

    private static async Task ExecAsync(NpgsqlConnection connection, NpgsqlTransaction tx, string sql, CancellationToken cancellationToken)
    {
        await using var cmd = new NpgsqlCommand(sql, connection, tx);
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static List<Migration> LoadEmbedded()
    {
        var assembly = typeof(Migrator).Assembly;
        var migrations = new List<Migration>();
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            // Recon.Migrations.0001_initial.sql
            var file = resource[ResourcePrefix.Length..^".sql".Length];
            var underscore = file.IndexOf('_', StringComparison.Ordinal);
            if (underscore <= 0 || !int.TryParse(file[..underscore], out var version))
            {
                throw new InvalidOperationException($"Migration file '{file}.sql' must be named NNNN_name.sql.");
            }
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream, Encoding.UTF8);
            migrations.Add(new Migration(version, file[(underscore + 1)..], reader.ReadToEnd()));
        }
        migrations.Sort((a, b) => a.Version.CompareTo(b.Version));
        for (var i = 1; i < migrations.Count; i++)
        {
            if (migrations[i].Version == migrations[i - 1].Version)
            {
                throw new InvalidOperationException($"Two migrations share version {migrations[i].Version}.");
            }
        }
        return migrations;
    }
}

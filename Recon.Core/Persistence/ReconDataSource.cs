using Azure.Core;
using Npgsql;

namespace Recon.Core.Persistence;

/// <summary>Builds the one <see cref="NpgsqlDataSource"/> a process uses.</summary>
public static class ReconDataSource
{
    /// <summary>
    /// Applies what PgBouncer in transaction mode needs: no prepared statements (a prepared statement lives on
    /// one server connection, the next transaction may get another), no reset on close (PgBouncer resets), and a
    /// pool no larger than the bulkhead.
    /// </summary>
    public static NpgsqlConnectionStringBuilder BuildConnectionString(DatabaseOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            throw new InvalidOperationException(
                $"{DatabaseOptions.SectionName}:ConnectionString is empty; set it (env Recon__Database__ConnectionString) to the PgBouncer address, e.g. Host=127.0.0.1;Port=6432;...");
        }
        if (options.MaxConcurrentOperations < 1)
        {
            throw new InvalidOperationException(
                $"{DatabaseOptions.SectionName}:MaxConcurrentOperations must be at least 1 (was {options.MaxConcurrentOperations}).");
        }

        var builder = new NpgsqlConnectionStringBuilder(options.ConnectionString)
        {
            MaxAutoPrepare = 0,
            NoResetOnClose = true,
            MaxPoolSize = options.MaxConcurrentOperations,
            CommandTimeout = options.CommandTimeoutSeconds,
        };
        if (builder.MinPoolSize > builder.MaxPoolSize)
        {
            builder.MinPoolSize = builder.MaxPoolSize;
        }
        return builder;
    }

    /// <summary>Token lifetime is about an hour: a new one every 50 minutes, retried after 10 s when a request fails.</summary>
    public static readonly TimeSpan TokenRefreshInterval = TimeSpan.FromMinutes(50);

    /// <summary>The data source; with <paramref name="credential"/> (Azure: the app's managed identity) and no password in
    /// the connection string, each new physical connection authenticates with an Entra ID token as its password.
    /// No network call here: the first connection makes one.</summary>
    public static NpgsqlDataSource Create(DatabaseOptions options, TokenCredential? credential = null)
    {
        var connectionString = BuildConnectionString(options);
        var builder = new NpgsqlDataSourceBuilder(connectionString.ConnectionString);
        if (credential is not null && string.IsNullOrEmpty(connectionString.Password))
        {
            builder.UsePeriodicPasswordProvider(
                async (_, ct) => (await credential.GetTokenAsync(new TokenRequestContext([Hosting.EntraScopes.PostgreSql]), ct).ConfigureAwait(false)).Token,
                TokenRefreshInterval, TimeSpan.FromSeconds(10));
        }
        return builder.Build();
    }
}

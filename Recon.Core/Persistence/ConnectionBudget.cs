using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Configuration;

namespace Recon.Core.Persistence;

/// <summary>The numbers of the connection budget, bound from <c>Recon:ConnectionBudget</c>.</summary>
/// <remarks>
/// They describe the deployment, not this process: how far the app may scale out and what PgBouncer and PostgreSQL
/// were configured with. Keep them in step with <c>host.json</c> and <c>pgbouncer.ini</c> (a test checks the
/// repository's copies).
/// </remarks>
public sealed class ConnectionBudgetOptions
{
    public const string SectionName = "Recon:ConnectionBudget";

    /// <summary>Most instances the app scales out to: 100, the Flex Consumption default maximum instance count.</summary>
    public int MaxInstances { get; set; } = 100;

    /// <summary>Activities one instance runs at once (host.json <c>maxConcurrentActivityFunctions</c>): 8, as many as two
    /// cores keep busy when activities mostly wait on providers and the database.</summary>
    public int MaxConcurrentActivities { get; set; } = 8;

    /// <summary>Connections one activity holds at most: 1, every activity does its work in one transaction.</summary>
    public int ConnectionsPerActivity { get; set; } = 1;

    /// <summary>PgBouncer <c>max_client_conn</c>.</summary>
    public int PgBouncerMaxClientConnections { get; set; } = 1000;

    /// <summary>PgBouncer <c>default_pool_size</c>: the server connections PostgreSQL sees per database and user.</summary>
    public int PgBouncerDefaultPoolSize { get; set; } = 50;

    /// <summary>PgBouncer <c>reserve_pool_size</c>: extra server connections for bursts.</summary>
    public int PgBouncerReservePoolSize { get; set; } = 10;

    /// <summary>PostgreSQL <c>max_connections</c>.</summary>
    public int PostgresMaxConnections { get; set; } = 100;

    /// <summary>Connections kept free for everything that bypasses PgBouncer: superusers (3 by default), migrations,
    /// monitoring and an operator's psql.</summary>
    public int PostgresReservedConnections { get; set; } = 10;
}

/// <summary>A budget that does not fit; the message lists every number that must change.</summary>
public sealed class ConnectionBudgetException(string message) : Exception(message);

/// <summary>
/// The one place that computes and checks the database connection budget:
/// instances × concurrent activities × connections per activity ≤ PgBouncer <c>max_client_conn</c>, and PgBouncer's
/// <c>default_pool_size</c> (+ reserve) is what PostgreSQL sees, within <c>max_connections</c>. The per-instance
/// figure is also host.json's <c>maxConcurrentActivityFunctions</c>, the Npgsql pool size and the bulkhead.
/// </summary>
public sealed class ConnectionBudget
{
    private readonly ConnectionBudgetOptions _o;

    public ConnectionBudget(ConnectionBudgetOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _o = options;
    }

    public ConnectionBudgetOptions Options => _o;

    /// <summary>Client connections one instance may hold: its Npgsql pool size and its bulkhead.</summary>
    public long ClientConnectionsPerInstance => (long)_o.MaxConcurrentActivities * _o.ConnectionsPerActivity;

    /// <summary>Client connections the whole deployment may open to PgBouncer.</summary>
    public long ClientConnections => _o.MaxInstances * ClientConnectionsPerInstance;

    /// <summary>Server connections PgBouncer opens to PostgreSQL (per database and user).</summary>
    public int ServerConnections => _o.PgBouncerDefaultPoolSize + _o.PgBouncerReservePoolSize;

    /// <summary>Everything that does not fit, each with the numbers to change; empty when the budget holds.</summary>
    /// <param name="database">This process's database settings (bulkhead and pool size), if known.</param>
    /// <param name="hostJsonMaxConcurrentActivityFunctions">host.json's value, if this process runs in the Functions host.</param>
    public IReadOnlyList<string> Problems(DatabaseOptions? database = null, int? hostJsonMaxConcurrentActivityFunctions = null)
    {
        var problems = new List<string>();
        const string s = ConnectionBudgetOptions.SectionName;
        foreach (var (name, value) in new[]
        {
            ("MaxInstances", _o.MaxInstances), ("MaxConcurrentActivities", _o.MaxConcurrentActivities),
            ("ConnectionsPerActivity", _o.ConnectionsPerActivity), ("PgBouncerMaxClientConnections", _o.PgBouncerMaxClientConnections),
            ("PgBouncerDefaultPoolSize", _o.PgBouncerDefaultPoolSize), ("PostgresMaxConnections", _o.PostgresMaxConnections),
        })
        {
            if (value < 1)
            {
                problems.Add($"{s}:{name} must be at least 1 (is {value}).");
            }
        }
        if (_o.PgBouncerReservePoolSize < 0 || _o.PostgresReservedConnections < 0)
        {
            problems.Add($"{s}:PgBouncerReservePoolSize and {s}:PostgresReservedConnections cannot be negative.");
        }
        if (problems.Count > 0)
        {
            return problems;
        }

        if (ClientConnections > _o.PgBouncerMaxClientConnections)
        {
            var maxInstances = _o.PgBouncerMaxClientConnections / ClientConnectionsPerInstance;
            var maxActivities = _o.PgBouncerMaxClientConnections / ((long)_o.MaxInstances * _o.ConnectionsPerActivity);
            problems.Add(
                $"{_o.MaxInstances} instances × {_o.MaxConcurrentActivities} concurrent activities × {_o.ConnectionsPerActivity} connections each = " +
                $"{ClientConnections} client connections, more than PgBouncer max_client_conn {_o.PgBouncerMaxClientConnections}. " +
                $"Lower {s}:MaxInstances to {maxInstances} or less, or {s}:MaxConcurrentActivities (and host.json maxConcurrentActivityFunctions) " +
                $"to {maxActivities} or less, or raise max_client_conn in pgbouncer.ini ({s}:PgBouncerMaxClientConnections) to {ClientConnections} or more.");
        }
        var available = _o.PostgresMaxConnections - _o.PostgresReservedConnections;
        if (ServerConnections > available)
        {
            problems.Add(
                $"PgBouncer default_pool_size {_o.PgBouncerDefaultPoolSize} + reserve_pool_size {_o.PgBouncerReservePoolSize} = {ServerConnections} server connections, " +
                $"more than PostgreSQL max_connections {_o.PostgresMaxConnections} − {_o.PostgresReservedConnections} reserved = {available}. " +
                $"Lower default_pool_size ({s}:PgBouncerDefaultPoolSize) to {Math.Max(0, available - _o.PgBouncerReservePoolSize)} or less, or raise max_connections.");
        }
        if (database is not null && database.MaxConcurrentOperations != ClientConnectionsPerInstance)
        {
            problems.Add(
                $"{DatabaseOptions.SectionName}:MaxConcurrentOperations is {database.MaxConcurrentOperations} but the budget gives each instance " +
                $"{_o.MaxConcurrentActivities} activities × {_o.ConnectionsPerActivity} connections = {ClientConnectionsPerInstance}: " +
                $"set it to {ClientConnectionsPerInstance} (it is the Npgsql pool size and the bulkhead).");
        }
        if (hostJsonMaxConcurrentActivityFunctions is { } hostJson && hostJson != _o.MaxConcurrentActivities)
        {
            problems.Add(
                $"host.json extensions.durableTask.maxConcurrentActivityFunctions is {hostJson} but {s}:MaxConcurrentActivities is " +
                $"{_o.MaxConcurrentActivities}: make them equal.");
        }
        return problems;
    }

    /// <summary>Throws <see cref="ConnectionBudgetException"/> listing every problem; call at startup, before taking work.</summary>
    public void EnsureFits(DatabaseOptions? database = null, int? hostJsonMaxConcurrentActivityFunctions = null)
    {
        var problems = Problems(database, hostJsonMaxConcurrentActivityFunctions);
        if (problems.Count > 0)
        {
            throw new ConnectionBudgetException(
                "The database connection budget does not fit; refusing to start." + Environment.NewLine + "- " +
                string.Join(Environment.NewLine + "- ", problems));
        }
    }

    /// <summary>Binds <c>Recon:ConnectionBudget</c> and <c>Recon:Database</c> and checks them, with host.json when
    /// <paramref name="hostJsonPath"/> names one that exists. The startup check of every host.</summary>
    public static ConnectionBudget CheckAtStartup(IConfiguration configuration, string? hostJsonPath = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var options = configuration.GetSection(ConnectionBudgetOptions.SectionName).Get<ConnectionBudgetOptions>() ?? new();
        var database = configuration.GetSection(DatabaseOptions.SectionName).Get<DatabaseOptions>() ?? new();
        int? hostJson = hostJsonPath is not null && File.Exists(hostJsonPath)
            ? ReadMaxConcurrentActivityFunctions(File.ReadAllText(hostJsonPath))
            : null;
        var budget = new ConnectionBudget(options);
        budget.EnsureFits(database, hostJson);
        return budget;
    }

    /// <summary>host.json's <c>extensions.durableTask.maxConcurrentActivityFunctions</c>, or null when it is not set.</summary>
    public static int? ReadMaxConcurrentActivityFunctions(string hostJson)
    {
        using var doc = JsonDocument.Parse(hostJson, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        return doc.RootElement.TryGetProperty("extensions", out var extensions)
            && extensions.TryGetProperty("durableTask", out var durable)
            && durable.TryGetProperty("maxConcurrentActivityFunctions", out var value)
                ? value.GetInt32()
                : null;
    }

    /// <summary>The <c>[pgbouncer]</c> section of a pgbouncer.ini as name → value (comments start with ';' or '#').</summary>
    public static IReadOnlyDictionary<string, string> ReadPgBouncerSettings(string ini)
    {
        ArgumentNullException.ThrowIfNull(ini);
        var settings = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var inSection = false;
        foreach (var raw in ini.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] is ';' or '#')
            {
                continue;
            }
            if (line.StartsWith('['))
            {
                inSection = line.Equals("[pgbouncer]", StringComparison.OrdinalIgnoreCase);
                continue;
            }
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (inSection && eq > 0)
            {
                settings[line[..eq].Trim()] = line[(eq + 1)..].Trim();
            }
        }
        return settings;
    }

    /// <summary>Reads an integer setting of <see cref="ReadPgBouncerSettings"/>, naming it when absent or not a number.</summary>
    public static int PgBouncerInt(IReadOnlyDictionary<string, string> settings, string name)
        => settings.TryGetValue(name, out var text) && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new FormatException($"pgbouncer.ini: [pgbouncer] {name} is missing or not a whole number.");
}

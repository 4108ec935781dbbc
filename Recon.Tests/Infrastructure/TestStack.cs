using Npgsql;

namespace Recon.Tests.Infrastructure;

/// <summary>
/// Where the real local stack (started by <c>./recon up</c>) answers. Values come from the environment that
/// <c>./recon test</c> exports, or from <c>.recon/env</c> found above the test binary, so a plain
/// <c>dotnet test</c> after <c>./recon up</c> works too.
/// </summary>
public static class TestStack
{
    private static readonly Lazy<IReadOnlyDictionary<string, string>> Settings = new(Load);

    /// <summary>PgBouncer (transaction mode), database <c>recon</c>.</summary>
    public static string PgBouncerConnectionString => Get("Recon__Database__ConnectionString");

    /// <summary>PostgreSQL itself, bypassing PgBouncer: for creating test databases and reading pg_stat_activity.</summary>
    public static string DirectConnectionString => Get("Recon__Database__AdminConnectionString");

    public static string Redis => Get("Recon__Redis__Configuration");

    public static string Storage => Get("Recon__Storage__ConnectionString");

    /// <summary>The same PgBouncer address, pointed at another database.</summary>
    public static string PgBouncerFor(string database)
        => new NpgsqlConnectionStringBuilder(PgBouncerConnectionString) { Database = database }.ConnectionString;

    public static string DirectFor(string database)
        => new NpgsqlConnectionStringBuilder(DirectConnectionString) { Database = database }.ConnectionString;

    public static string Get(string name)
        => Settings.Value.TryGetValue(name, out var value) && !string.IsNullOrEmpty(value)
            ? value
            : throw new InvalidOperationException($"{name} is not set: run the tests with ./recon test, or run ./recon up first so that .recon/env exists.");

    private static Dictionary<string, string> Load()
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var file = FindEnvFile();
        if (file is not null)
        {
            foreach (var line in File.ReadAllLines(file))
            {
                var text = line.Trim();
                if (!text.StartsWith("export ", StringComparison.Ordinal))
                {
                    continue;
                }
                var eq = text.IndexOf('=', StringComparison.Ordinal);
                values[text[7..eq]] = text[(eq + 1)..].Trim('\'');
            }
        }
        foreach (var key in values.Keys.ToList())
        {
            var fromEnv = Environment.GetEnvironmentVariable(key);
            if (!string.IsNullOrEmpty(fromEnv))
            {
                values[key] = fromEnv;
            }
        }
        foreach (var key in new[] { "Recon__Database__ConnectionString", "Recon__Database__AdminConnectionString", "Recon__Redis__Configuration", "Recon__Storage__ConnectionString" })
        {
            var fromEnv = Environment.GetEnvironmentVariable(key);
            if (!string.IsNullOrEmpty(fromEnv))
            {
                values[key] = fromEnv;
            }
        }
        return values;
    }

    private static string? FindEnvFile()
    {
        var state = Environment.GetEnvironmentVariable("RECON_STATE_DIR");
        if (!string.IsNullOrEmpty(state) && File.Exists(Path.Combine(state, "env")))
        {
            return Path.Combine(state, "env");
        }
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, ".recon", "env");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }
}

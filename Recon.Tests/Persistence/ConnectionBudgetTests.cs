using Microsoft.Extensions.Configuration;
using Recon.Core.Persistence;

namespace Recon.Tests.Persistence;

public sealed class ConnectionBudgetTests
{
    [Fact]
    public void RepositoryConfiguration_HostJsonPgBouncerIniAndDefaults_AgreeWithTheBudget()
    {
        var root = RepositoryRoot();
        var hostJson = ConnectionBudget.ReadMaxConcurrentActivityFunctions(File.ReadAllText(Path.Combine(root, "Recon.Functions", "host.json")));
        var pgbouncer = ConnectionBudget.ReadPgBouncerSettings(File.ReadAllText(Path.Combine(root, "deploy", "local", "pgbouncer.ini")));
        var postgres = ConnectionBudget.ReadPgBouncerSettings("[pgbouncer]\n" + File.ReadAllText(Path.Combine(root, "deploy", "local", "postgresql.conf")));
        var defaults = new ConnectionBudgetOptions();

        Assert.Equal(defaults.MaxConcurrentActivities, hostJson);
        Assert.Equal(defaults.PgBouncerMaxClientConnections, ConnectionBudget.PgBouncerInt(pgbouncer, "max_client_conn"));
        Assert.Equal(defaults.PgBouncerDefaultPoolSize, ConnectionBudget.PgBouncerInt(pgbouncer, "default_pool_size"));
        Assert.Equal(defaults.PgBouncerReservePoolSize, ConnectionBudget.PgBouncerInt(pgbouncer, "reserve_pool_size"));
        Assert.Equal(defaults.PostgresMaxConnections, ConnectionBudget.PgBouncerInt(postgres, "max_connections"));
        Assert.Equal("transaction", pgbouncer["pool_mode"]);

        var budget = new ConnectionBudget(defaults);
        Assert.Empty(budget.Problems(new DatabaseOptions(), hostJson));
        Assert.Equal(new DatabaseOptions().MaxConcurrentOperations, budget.ClientConnectionsPerInstance);
        Assert.Equal(budget.ClientConnectionsPerInstance, ReconDataSource.BuildConnectionString(new DatabaseOptions { ConnectionString = "Host=127.0.0.1" }).MaxPoolSize);
        Assert.True(budget.ClientConnections <= defaults.PgBouncerMaxClientConnections);
    }

    [Fact]
    public void TooManyInstances_RefusedNamingWhatToChange()
    {
        var budget = new ConnectionBudget(new ConnectionBudgetOptions { MaxInstances = 200 });
        var ex = Assert.Throws<ConnectionBudgetException>(() => budget.EnsureFits());
        Assert.Contains("200 instances × 8 concurrent activities × 1 connections each = 1600", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Recon:ConnectionBudget:MaxInstances to 125 or less", ex.Message, StringComparison.Ordinal);
        Assert.Contains("MaxConcurrentActivities (and host.json maxConcurrentActivityFunctions) to 5 or less", ex.Message, StringComparison.Ordinal);
        Assert.Contains("max_client_conn in pgbouncer.ini", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PoolLargerThanPostgresAllows_Refused()
    {
        var problems = new ConnectionBudget(new ConnectionBudgetOptions { PgBouncerDefaultPoolSize = 95 }).Problems();
        var problem = Assert.Single(problems);
        Assert.Contains("default_pool_size 95 + reserve_pool_size 10 = 105", problem, StringComparison.Ordinal);
        Assert.Contains("to 80 or less", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void BulkheadAndHostJsonOutOfStep_Refused()
    {
        var problems = new ConnectionBudget(new ConnectionBudgetOptions()).Problems(new DatabaseOptions { MaxConcurrentOperations = 20 }, hostJsonMaxConcurrentActivityFunctions: 10);
        Assert.Equal(2, problems.Count);
        Assert.Contains(problems, p => p.Contains("Recon:Database:MaxConcurrentOperations is 20", StringComparison.Ordinal) && p.Contains("set it to 8", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("maxConcurrentActivityFunctions is 10", StringComparison.Ordinal));
    }

    [Fact]
    public void CheckAtStartup_FromConfigurationAndHostJson()
    {
        var hostJson = Path.Combine(Path.GetTempPath(), $"host-{Guid.NewGuid():N}.json");
        File.WriteAllText(hostJson, """{ "version": "2.0", "extensions": { "durableTask": { "maxConcurrentActivityFunctions": 16 } } }""");
        try
        {
            var fits = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Recon:ConnectionBudget:MaxInstances"] = "50",
                ["Recon:ConnectionBudget:MaxConcurrentActivities"] = "16",
                ["Recon:Database:MaxConcurrentOperations"] = "16",
            }).Build();
            Assert.Equal(800, ConnectionBudget.CheckAtStartup(fits, hostJson).ClientConnections);

            var tooMany = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Recon:ConnectionBudget:MaxConcurrentActivities"] = "16",
                ["Recon:Database:MaxConcurrentOperations"] = "16",
            }).Build();
            var ex = Assert.Throws<ConnectionBudgetException>(() => ConnectionBudget.CheckAtStartup(tooMany, hostJson));
            Assert.Contains("refusing to start", ex.Message, StringComparison.Ordinal);
            Assert.Contains("1600 client connections", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(hostJson);
        }
    }

    [Fact]
    public void PgBouncerIni_MissingSetting_IsNamed()
    {
        var ex = Assert.Throws<FormatException>(() => ConnectionBudget.PgBouncerInt(ConnectionBudget.ReadPgBouncerSettings("[pgbouncer]\npool_mode = transaction\n"), "max_client_conn"));
        Assert.Contains("max_client_conn", ex.Message, StringComparison.Ordinal);
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Recon.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException($"Recon.sln not found above {AppContext.BaseDirectory}");
    }
}

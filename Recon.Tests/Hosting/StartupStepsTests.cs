using System.Diagnostics.Metrics;
using Azure.Storage.Queues;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using Recon.Core.Hosting;
using Recon.Core.Queues;
using Recon.Core.Telemetry;
using Recon.Tests.Infrastructure;

namespace Recon.Tests.Hosting;

/// <summary>What a host does when it starts, on the real servers: the schema arrives with the deployment, and the poison
/// queues' depths reach the metric the alert queries.</summary>
public sealed class StartupStepsTests
{
    [Fact]
    public async Task FunctionsHost_StartingOnAnEmptyDatabase_AppliesEveryMigrationBeforeAnythingRuns_AndASecondStartAppliesNone()
    {
        await using var db = new TestDatabase { Migrate = false };
        await db.InitializeAsync();
        var settings = Settings(db);
        foreach (var expected in new[] { Recon.Core.Persistence.Migrator.Embedded.Count, Recon.Core.Persistence.Migrator.Embedded.Count })
        {
            using var host = HostParityTests.BuildFunctionsHost(settings);
            // the lifecycle step the host runs before any hosted service (the Functions worker's gRPC channel) starts
            foreach (var step in host.Services.GetServices<IHostedService>().OfType<SchemaMigrationOnStart>())
            {
                await step.StartingAsync(CancellationToken.None);
            }
            Assert.Equal(expected, await CountAsync(db, "select count(*) from schema_migrations"));
        }
        Assert.Equal(1, await CountAsync(db, "select count(*) from information_schema.tables where table_name = 'batches'"));
    }

    [Fact]
    public async Task MigrateOnStartFalse_LeavesTheDatabaseAlone()
    {
        await using var db = new TestDatabase { Migrate = false };
        await db.InitializeAsync();
        var settings = Settings(db);
        settings["Recon:Database:MigrateOnStart"] = "false";
        using var host = HostParityTests.BuildFunctionsHost(settings);
        var step = Assert.Single(host.Services.GetServices<IHostedService>().OfType<SchemaMigrationOnStart>());
        await step.StartingAsync(CancellationToken.None);
        Assert.Equal(0, await CountAsync(db, "select count(*) from information_schema.tables where table_name = 'schema_migrations'"));
    }

    [Fact]
    public async Task PoisonQueueProbe_PublishesEachPoisonQueuesDepthAsTheAlertsMetric()
    {
        var prefix = $"t{Guid.NewGuid():N}"[..12];
        var options = new PriorityQueueOptions { HighQueue = prefix + "-high", LowQueue = prefix + "-low", Ingest = prefix + "-ingest" };
        var service = QueueClients.Create(TestStack.Storage);
        var highPoison = service.GetQueueClient(prefix + "-high-poison");
        await highPoison.CreateIfNotExistsAsync();
        try
        {
            await highPoison.SendMessageAsync("{\"reason\":\"test\"}");
            await highPoison.SendMessageAsync("{\"reason\":\"test\"}");
            var seen = new Dictionary<string, long>();
            using var listener = new MeterListener();
            listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == ReconMetrics.Name && instrument.Name == ReconMetricNames.QueueDepth)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            };
            listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                foreach (var tag in tags)
                {
                    if (tag.Key == ReconTagNames.Queue && tag.Value is string q && q.StartsWith(prefix, StringComparison.Ordinal))
                    {
                        seen[q] = value;
                    }
                }
            });
            listener.Start();

            var depths = await new PoisonQueueProbe(service, options).SampleAsync();
            listener.RecordObservableInstruments();

            Assert.Equal(2, depths[prefix + "-high-poison"]);
            Assert.Equal(0, depths[prefix + "-ingest-poison"]); // absent: counts 0, not an error
            Assert.Equal(2, seen[prefix + "-high-poison"]);
            Assert.Equal(0, seen[prefix + "-low-poison"]);
            Assert.All(seen.Keys, q => Assert.EndsWith("-poison", q, StringComparison.Ordinal));
        }
        finally
        {
            await highPoison.DeleteIfExistsAsync();
        }
    }

    private static Dictionary<string, string?> Settings(TestDatabase db) => new()
    {
        ["Recon:Database:ConnectionString"] = db.ConnectionString,
        ["Recon:Storage:ConnectionString"] = TestStack.Storage,
        ["Recon:Redis:Configuration"] = TestStack.Redis,
        // what the Functions host hands its worker; resolving the hosted services builds the gRPC client from these
        // without connecting (nothing listens on port 1)
        ["Functions:Worker:HostEndpoint"] = "http://127.0.0.1:1",
        ["Functions:Worker:WorkerId"] = "test",
        ["Functions:Worker:RequestId"] = "test",
        ["Functions:Worker:GrpcMaxMessageLength"] = "2147483647",
    };

    private static async Task<long> CountAsync(TestDatabase db, string sql)
    {
        await using var connection = new NpgsqlConnection(db.DirectConnectionString);
        await connection.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, connection);
        return (long)(await cmd.ExecuteScalarAsync())!;
    }
}

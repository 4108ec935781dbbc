using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Recon.Cli.Bench.Spike;
using Recon.Tests.Infrastructure;

namespace Recon.Tests.Bench;

/// <summary>A tiny spike run on the real local stack: proves the harness end to end, never its speed.</summary>
[Collection(ExclusiveServerLoad.Name)]
public sealed class SpikeBenchTests
{
    [Fact]
    public async Task TinyRun_BothModes_WritesWellFormedJsonTableAndChart()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Recon:Database:ConnectionString"] = TestStack.PgBouncerConnectionString,
            ["Recon:Database:AdminConnectionString"] = TestStack.DirectConnectionString,
            ["Recon:Redis:Configuration"] = TestStack.Redis,
        }).Build();
        // a couple of seconds of arrivals: 0.03 of the default phases
        var workload = new SpikeWorkloadOptions { Scale = 0.03, Seed = 7 };
        var report = await SpikeBench.RunAsync(configuration, workload, ["naive", "recon"], "test", _ => { }, CancellationToken.None, sandboxPort: 0);
        var dir = Path.Combine(Path.GetTempPath(), $"spike-test-{Guid.NewGuid():N}");
        try
        {
            var (json, md, svg) = await SpikeRunner.WriteAsync(report, Path.Combine(dir, "spike.json"), null, null, CancellationToken.None);

            using var doc = JsonDocument.Parse(await File.ReadAllTextAsync(json));
            var runs = doc.RootElement.GetProperty("runs").EnumerateArray().ToList();
            Assert.Equal(["naive", "recon"], runs.Select(r => r.GetProperty("mode").GetString()));
            foreach (var run in runs)
            {
                foreach (var field in new[] { "db_server_connections_peak", "db_errors", "provider_requests", "provider_429", "provider_success_rate",
                             "batches_over_window", "backlog_peak", "drain_seconds", "floor_seconds", "batches_completed", "batches_failed" })
                {
                    Assert.Equal(JsonValueKind.Number, run.GetProperty(field).ValueKind);
                }
                foreach (var field in new[] { "p50_batch_seconds", "p99_batch_seconds" })
                {
                    Assert.Equal(JsonValueKind.Number, run.GetProperty(field).GetProperty("high").ValueKind);
                    Assert.Equal(JsonValueKind.Number, run.GetProperty(field).GetProperty("low").ValueKind);
                }
                var jobs = run.GetProperty("jobs").GetInt32();
                Assert.True(jobs > 0);
                // every job is accounted for: completed, failed or (at the deadline) lost
                Assert.Equal(jobs, run.GetProperty("batches_completed").GetInt32() + run.GetProperty("batches_failed").GetInt32() + run.GetProperty("batches_lost").GetInt32());
                Assert.True(run.GetProperty("provider_requests").GetInt64() >= run.GetProperty("provider_429").GetInt64());
                Assert.True(run.GetProperty("floor_seconds").GetDouble() > 0);
            }
            // the recon mode loses nothing and its database agrees
            var recon = report.Run("recon")!;
            Assert.Equal(recon.Jobs, recon.BatchesCompleted);
            Assert.Equal(recon.Jobs, recon.DbCompletedRows);
            Assert.Equal(0, recon.BatchesCompletedMoreThanOnce);
            Assert.Equal(report.Workload.Jobs, recon.Jobs);

            var table = await File.ReadAllTextAsync(md);
            Assert.Contains("| | story: before | naive (measured) | story: after | recon (measured) |", table, StringComparison.Ordinal);
            Assert.Contains("recon target", table, StringComparison.Ordinal);
            var chart = await File.ReadAllTextAsync(svg);
            Assert.StartsWith("<svg", chart, StringComparison.Ordinal);
            Assert.Contains("polyline", chart, StringComparison.Ordinal);
            System.Xml.Linq.XDocument.Parse(chart);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}

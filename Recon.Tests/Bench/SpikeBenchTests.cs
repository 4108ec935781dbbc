using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Recon.Bench.Spike;
using Recon.Tests.Infrastructure;

namespace Recon.Tests.Bench;

/// <summary>A tiny spike run on the real local stack, the product mode on a real Recon.Worker process: proves the
/// harness end to end, never its speed.</summary>
[Collection(ExclusiveServerLoad.Name)]
public sealed class SpikeBenchTests
{
    [Fact]
    public async Task TinyRun_NaiveAndTheProductOnARealWorker_WritesWellFormedJsonTableAndChart()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Recon:Database:ConnectionString"] = TestStack.PgBouncerConnectionString,
            ["Recon:Database:AdminConnectionString"] = TestStack.DirectConnectionString,
            ["Recon:Redis:Configuration"] = TestStack.Redis,
            ["Recon:Storage:ConnectionString"] = TestStack.Storage,
        }).Build();
        // a couple of seconds of arrivals: 0.03 of the default phases; a drain allowance that only bounds how long a
        // loaded machine may take (the run ends when every job finished), so the product has the time it needs
        var workload = new SpikeWorkloadOptions { Scale = 0.03, Seed = 7, DrainAllowanceSeconds = 600 };
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
                Assert.Equal(jobs, run.GetProperty("batches_completed").GetInt32() + run.GetProperty("batches_failed").GetInt32() + run.GetProperty("batches_unfinished_at_deadline").GetInt32());
                Assert.True(run.GetProperty("provider_requests").GetInt64() >= run.GetProperty("provider_429").GetInt64());
                Assert.True(run.GetProperty("floor_seconds").GetDouble() > 0);
                // each mode ran on an Azurite of its own (./recon up installs the binary the bench starts)
                Assert.StartsWith("its own Azurite process", run.GetProperty("azurite").GetString(), StringComparison.Ordinal);
                Assert.True(run.GetProperty("deadline_seconds").GetDouble() > 0);
                Assert.Equal(run.GetProperty("batches_unfinished_at_deadline").GetInt32() > 0, run.GetProperty("ended_at_deadline").GetBoolean());
            }
            // every queue call the bench's side made is timed, by kind (the naive workers' receive and delete; the product's
            // are the worker's, counted below), and Azurite's CPU is sampled
            foreach (var run in runs)
            {
                var calls = run.GetProperty("queue_calls");
                foreach (var kind in run.GetProperty("mode").GetString() == "naive" ? new[] { "send", "receive", "delete" } : ["send"])
                {
                    var stats = calls.GetProperty(kind);
                    Assert.True(stats.GetProperty("calls").GetInt32() > 0, $"{kind} calls");
                    Assert.True(stats.GetProperty("tries").GetInt32() >= stats.GetProperty("calls").GetInt32());
                    Assert.True(stats.GetProperty("max_ms").GetDouble() >= stats.GetProperty("p50_ms").GetDouble());
                }
                Assert.Equal(JsonValueKind.Number, run.GetProperty("azurite_cpu").GetProperty("peak_percent").ValueKind);
                Assert.Contains(run.GetProperty("timeline").EnumerateArray(), s => s.GetProperty("queue_calls").EnumerateObject().Any());
            }
            // the naive mode has no engine; the product's run is Durable, on the one worker, with its engine work per batch
            Assert.False(runs[0].TryGetProperty("engine", out _));
            Assert.Equal("durable", runs[1].GetProperty("engine").GetString());
            Assert.Equal(1, runs[1].GetProperty("workers").GetInt32());
            var perBatch = runs[1].GetProperty("per_batch");
            Assert.Equal(runs[1].GetProperty("batches_completed").GetInt32(), perBatch.GetProperty("batches").GetInt32());
            // every batch ran at least one activity (its provider call is made in one), in at least one orchestration episode
            Assert.True(perBatch.GetProperty("activity_executions").GetDouble() >= 1);
            Assert.True(perBatch.GetProperty("orchestration_episodes").GetDouble() >= 1);
            Assert.True(perBatch.GetProperty("storage_requests").GetProperty("queue").GetProperty("receive").GetDouble() > 0);
            Assert.True(perBatch.GetProperty("storage_requests").GetProperty("table").EnumerateObject().Sum(o => o.Value.GetDouble()) > 0);
            // the totals are the per-batch figures before the division (whatever the product's activities are called)
            var totals = perBatch.GetProperty("totals");
            Assert.Equal(totals.GetProperty("activity_executions").GetInt64(), totals.GetProperty("activities").EnumerateObject().Sum(a => a.Value.GetInt64()));
            foreach (var field in new[] { "p50_queued_to_done_seconds", "p99_queued_to_done_seconds" })
            {
                Assert.True(runs[1].GetProperty(field).GetProperty("low").GetDouble() > 0);
            }
            // both modes are priced from what they measured: a positive spike week whose line items add up to it, and an idle day
            foreach (var run in runs)
            {
                var cost = run.GetProperty("cost");
                var week = cost.GetProperty("spike_week_usd").GetDecimal();
                Assert.True(week > 0, $"{run.GetProperty("mode").GetString()}: spike_week_usd {week}");
                Assert.Equal(week, Math.Round(cost.GetProperty("spike_week").EnumerateArray().Sum(l => l.GetProperty("usd").GetDecimal()), 2, MidpointRounding.AwayFromZero));
                Assert.Equal(cost.GetProperty("idle_day_usd").GetDecimal(),
                    Math.Round(cost.GetProperty("idle_day").EnumerateArray().Sum(l => l.GetProperty("usd").GetDecimal()), 2, MidpointRounding.AwayFromZero));
                Assert.Contains(cost.GetProperty("spike_week").EnumerateArray(), l => l.GetProperty("price_id").GetString()!.StartsWith("storage.queue.", StringComparison.Ordinal));
            }
            // the product's storage requests (table and blob, which only the workers make) are in its bill
            Assert.Contains(runs[1].GetProperty("cost").GetProperty("spike_week").EnumerateArray(), l => l.GetProperty("price_id").GetString()!.StartsWith("storage.table.", StringComparison.Ordinal));

            // the recon mode loses nothing and its database agrees
            var recon = report.Run("recon")!;
            Assert.Equal(recon.Jobs, recon.BatchesCompleted);
            Assert.Equal(recon.Jobs, recon.DbCompletedRows);
            Assert.Equal(0, recon.BatchesCompletedMoreThanOnce);
            Assert.Equal(report.Workload.Jobs, recon.Jobs);

            var table = await File.ReadAllTextAsync(md);
            Assert.Contains("| | story: before | naive (measured) | story: after | recon (measured) |", table, StringComparison.Ordinal);
            Assert.Contains("recon target", table, StringComparison.Ordinal);
            Assert.Contains("| cost on Azure (docs/cost.md): spike week / idle day |", table, StringComparison.Ordinal);
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

    [Theory]
    [InlineData("POST", "http://127.0.0.1:1/devstoreaccount1/q/messages", QueueCallKind.Send)]
    [InlineData("GET", "http://127.0.0.1:1/devstoreaccount1/q/messages?numofmessages=32&visibilitytimeout=300", QueueCallKind.Receive)]
    [InlineData("GET", "http://127.0.0.1:1/devstoreaccount1/q/messages?peekonly=true", QueueCallKind.Peek)]
    [InlineData("DELETE", "http://127.0.0.1:1/devstoreaccount1/q/messages/abc?popreceipt=x", QueueCallKind.Delete)]
    [InlineData("PUT", "http://127.0.0.1:1/devstoreaccount1/q/messages/abc?popreceipt=x&visibilitytimeout=1", QueueCallKind.Update)]
    [InlineData("GET", "http://127.0.0.1:1/devstoreaccount1/q?comp=metadata", QueueCallKind.GetProperties)]
    [InlineData("PUT", "http://127.0.0.1:1/devstoreaccount1/q", QueueCallKind.Other)]
    public void QueueCallKind_FromMethodAndAddress(string method, string uri, string kind)
        => Assert.Equal(kind, QueueCallKind.Of(method, new Uri(uri)));
}

using Azure.Storage.Queues;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging.Abstractions;
using Moq;
using Npgsql;
using Recon.Core.Ingestion;
using Recon.Core.Persistence;
using Recon.Core.Pipeline;
using Recon.Core.Queues;
using Recon.Core.RateLimiting;
using Recon.Core.RateLimiting.Redis;
using Recon.Tests.Infrastructure;

namespace Recon.Tests.Pipeline;

/// <summary>
/// A batch row queued whose message was lost (a crash between the insert and the send): against real PostgreSQL (through
/// PgBouncer), Azurite and Redis, the dispatch round queues it again once both queues are empty, and the next round hands
/// it to a runner with its token. A batch that then makes no progress (its runner died with a worker) is queued again
/// once per period, and failed with the reason after the allowed requeues.
/// </summary>
public sealed class StrandedBatchTests : IClassFixture<TestDatabase>
{
    private readonly TestDatabase _db;

    public StrandedBatchTests(TestDatabase db) => _db = db;

    [Fact]
    public async Task DispatchRound_QueuedRowWithoutMessage_IsQueuedAgainThenRun_StalledIsQueuedAgain_ThenFailed()
    {
        var options = _db.Options();
        await using var dataSource = ReconDataSource.Create(options);
        using var bulkhead = new DatabaseBulkhead(dataSource, options);
        var store = new BatchStore(bulkhead);
        var id = Guid.NewGuid().ToString("N")[..12];
        var service = new QueueServiceClient(TestStack.Storage);
        var client = new PriorityQueueClient(service, new PriorityQueueOptions { HighQueue = $"s{id}-high", LowQueue = $"s{id}-low" });
        await client.CreateQueuesAsync();
        var queue = new PriorityBatchQueue(client, new PipelineOptions { DispatchLeaseTimeout = TimeSpan.FromSeconds(30) });
        await using var redis = await RedisConnectionFactory.ConnectAsync(TestStack.Redis);
        var limiter = new RedisProviderRateLimiter(redis, new RateLimitOptions { KeyPrefix = $"recon:test:{id}" });

        BatchWork Batch(string batchId, int priority)
            => new(batchId, "run-" + id, new PageRequest("bank_a", "acct-1", new(2025, 3, 3), new(2025, 3, 3), null, 50), priority, 125_00, "USD");
        var stranded = Batch($"b-stranded-{id}", 0);
        var fresh = Batch($"b-fresh-{id}", 4);
        // both rows written, no message sent: what a crash after InsertQueuedAsync leaves
        await store.InsertQueuedAsync([stranded, fresh]);
        await AgeAsync(dataSource, stranded.BatchId, "queued_at");

        var activity = new DispatchBatchesActivity(store, queue, limiter, NullLogger<DispatchBatchesActivity>.Instance);
        var context = new Mock<TaskActivityContext>().Object;
        var request = new DispatchRequest(MaxInFlight: 8, ReservedForHigh: 2, StrandedAfterSeconds: 120, StalledAfterSeconds: 120);

        var first = await activity.RunAsync(context, request);
        Assert.Equal(0, first.Started);
        Assert.Equal(1, first.Requeued);
        Assert.Equal(1, (await client.ApproximateDepthAsync()).High);

        var second = await activity.RunAsync(context, request);
        Assert.Equal(1, second.Started);
        Assert.Equal(0, second.Requeued);
        // handed to a runner with its token already taken from the bucket (one coalesced ask per round)
        Assert.Equal([new RunBatch(stranded, TokenGranted: true)], second.ToRun);
        Assert.Equal(BatchStatuses.Running, await store.GetStatusAsync(stranded.BatchId));
        // the young row is not stranded yet: its message may still be on the way
        Assert.Equal(BatchStatuses.Queued, await store.GetStatusAsync(fresh.BatchId));
        Assert.Equal(1, await RequeuesAsync(dataSource, stranded.BatchId));

        // queues empty again and nothing stranded beyond the young row: a third round queues nothing
        var third = await activity.RunAsync(context, request);
        Assert.Equal(0, third.Requeued);
        Assert.Empty(third.ToRun!);
        Assert.Equal((0L, 0L), await client.ApproximateDepthAsync());

        // dispatched long ago and never begun (its runner died with a worker): queued again, run again by the next round,
        // and not looked at again until a period has passed
        await AgeAsync(dataSource, stranded.BatchId, "dispatched_at");
        Assert.Equal(1, (await activity.RunAsync(context, request)).Requeued);
        Assert.Equal(2, await RequeuesAsync(dataSource, stranded.BatchId));
        var rerun = await activity.RunAsync(context, request);
        Assert.Equal([stranded.BatchId], rerun.ToRun!.Select(r => r.Work.BatchId));
        Assert.Equal(0, (await activity.RunAsync(context, request)).Requeued);

        // began, then went quiet: queued again once its last sign of life is a period old
        await store.BeginAsync(stranded.BatchId, DateTime.UtcNow);
        Assert.Equal(0, (await activity.RunAsync(context, request)).Requeued);
        await AgeAsync(dataSource, stranded.BatchId, "dispatched_at", "started_at");
        Assert.Equal(1, (await activity.RunAsync(context, request)).Requeued);
        Assert.Equal(3, await RequeuesAsync(dataSource, stranded.BatchId));
        Assert.Single((await activity.RunAsync(context, request)).ToRun!);

        // a repeated message of a batch already running is dropped, not run twice
        await queue.EnqueueAsync(stranded, CancellationToken.None);
        var repeated = await activity.RunAsync(context, request);
        Assert.Empty(repeated.ToRun!);
        Assert.Equal(1, repeated.Duplicates);

        // queued again as often as allowed and still making no progress: marked failed with why, and what its runs counted stays
        await AgeAsync(dataSource, stranded.BatchId, "dispatched_at", "started_at");
        await using (var counted = dataSource.CreateCommand("update batches set token_waits = 3, throttled = 1 where batch_id = $1"))
        {
            counted.Parameters.Add(new NpgsqlParameter { Value = stranded.BatchId });
            await counted.ExecuteNonQueryAsync();
        }
        Assert.Equal(0, (await activity.RunAsync(context, request with { MaxRevivals = 3 })).Requeued);
        Assert.Equal(BatchStatuses.Failed, await store.GetStatusAsync(stranded.BatchId));
        await using var error = dataSource.CreateCommand("select last_error from batches where batch_id = $1");
        error.Parameters.Add(new NpgsqlParameter { Value = stranded.BatchId });
        Assert.Equal("no progress for 120 s after 3 requeues; not queued again", (string)(await error.ExecuteScalarAsync())!);
        await using var counters = dataSource.CreateCommand("select format('%s/%s', token_waits, throttled) from batches where batch_id = $1");
        counters.Parameters.Add(new NpgsqlParameter { Value = stranded.BatchId });
        Assert.Equal("3/1", (string)(await counters.ExecuteScalarAsync())!);
    }

    private static async Task AgeAsync(NpgsqlDataSource dataSource, string batchId, params string[] columns)
    {
        var set = string.Join(", ", columns.Select(c => $"{c} = now() - interval '10 minutes'"));
        await using var age = dataSource.CreateCommand($"update batches set {set} where batch_id = $1");
        age.Parameters.Add(new NpgsqlParameter { Value = batchId });
        Assert.Equal(1, await age.ExecuteNonQueryAsync());
    }

    private static async Task<int> RequeuesAsync(NpgsqlDataSource dataSource, string batchId)
    {
        await using var cmd = dataSource.CreateCommand("select requeues from batches where batch_id = $1");
        cmd.Parameters.Add(new NpgsqlParameter { Value = batchId });
        return (int)(await cmd.ExecuteScalarAsync())!;
    }
}

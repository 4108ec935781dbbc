using Azure.Storage.Queues;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging.Abstractions;
using Moq;
using Npgsql;
using Recon.Core.Ingestion;
using Recon.Core.Persistence;
using Recon.Core.Pipeline;
using Recon.Core.Queues;
using Recon.Tests.Infrastructure;

namespace Recon.Tests.Pipeline;

/// <summary>
/// A batch row queued whose message was lost (a crash between the insert and the send): against real PostgreSQL (through
/// PgBouncer) and Azurite, the dispatch round queues it again once both queues are empty, and the next round starts it.
/// A batch that then stays running is looked at once per period and restarted, ended or failed as its orchestration's
/// state calls for.
/// </summary>
public sealed class StrandedBatchTests : IClassFixture<TestDatabase>
{
    private readonly TestDatabase _db;

    public StrandedBatchTests(TestDatabase db) => _db = db;

    /// <summary>Records the batches it was asked to start; the orchestration host itself is not what is under test.</summary>
    private sealed class RecordingStarter : IBatchStarter
    {
        public List<string> Started { get; } = [];

        public Task<bool> TryStartAsync(BatchWork batch, CancellationToken cancellationToken)
        {
            var first = !Started.Contains(batch.BatchId);
            Started.Add(batch.BatchId);
            return Task.FromResult(first);
        }

        /// <summary>What each look at a long-running batch was asked (batch, whether a start was allowed).</summary>
        public List<(string BatchId, bool MayStart)> Looked { get; } = [];

        /// <summary>What the next looks find and do, in order; when empty, the orchestration is alive (left alone).</summary>
        public Queue<Revival> Answers { get; } = new();

        public Task<Revival> ReviveAsync(BatchWork batch, TimeSpan stalledAfter, bool mayStart, CancellationToken cancellationToken)
        {
            Looked.Add((batch.BatchId, mayStart));
            var answer = Answers.Count > 0 ? Answers.Dequeue() : new Revival(LivenessAction.Leave, "Running", Done: false);
            return Task.FromResult(answer with { Done = answer.Done && (mayStart || answer.Action != LivenessAction.Start) });
        }

        public int Signals { get; private set; }

        public Task NotifyDispatcherAsync(CancellationToken cancellationToken)
        {
            Signals++;
            return Task.CompletedTask;
        }
    }

    [Fact]
    public async Task DispatchRound_QueuedRowWithoutMessage_IsQueuedAgainThenStarted_FreshRowIsLeftAlone()
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

        BatchWork Batch(string batchId, int priority)
            => new(batchId, "run-" + id, new PageRequest("bank_a", "acct-1", new(2025, 3, 3), new(2025, 3, 3), null, 50), priority, 125_00, "USD");
        var stranded = Batch($"b-stranded-{id}", 0);
        var fresh = Batch($"b-fresh-{id}", 4);
        // both rows written, no message sent: what a crash after InsertQueuedAsync leaves
        await store.InsertQueuedAsync([stranded, fresh]);
        await AgeAsync(dataSource, stranded.BatchId, "queued_at");

        var starter = new RecordingStarter();
        var activity = new DispatchBatchesActivity(store, queue, starter, NullLogger<DispatchBatchesActivity>.Instance);
        var context = new Mock<TaskActivityContext>().Object;
        var request = new DispatchRequest(MaxInFlight: 8, ReservedForHigh: 2, StrandedAfterSeconds: 120, StalledAfterSeconds: 120);

        var first = await activity.RunAsync(context, request);
        Assert.Equal(0, first.Started);
        Assert.Equal(1, first.Requeued);
        Assert.Equal(1, (await client.ApproximateDepthAsync()).High);

        var second = await activity.RunAsync(context, request);
        Assert.Equal(1, second.Started);
        Assert.Equal(0, second.Requeued);
        Assert.Equal([stranded.BatchId], starter.Started);
        Assert.Equal(BatchStatuses.Running, await store.GetStatusAsync(stranded.BatchId));
        // the young row is not stranded yet: its message may still be on the way
        Assert.Equal(BatchStatuses.Queued, await store.GetStatusAsync(fresh.BatchId));
        Assert.Equal(1, await RequeuesAsync(dataSource, stranded.BatchId));

        // queues empty again and nothing stranded beyond the young row: a third round queues nothing
        var third = await activity.RunAsync(context, request);
        Assert.Equal(0, third.Requeued);
        Assert.Equal((0L, 0L), await client.ApproximateDepthAsync());
        Assert.Empty(starter.Looked);

        // dispatched long ago and never begun (its start message was lost): looked at once, started again, and not looked at
        // again until a period has passed
        await AgeAsync(dataSource, stranded.BatchId, "dispatched_at");
        starter.Answers.Enqueue(new Revival(LivenessAction.Start, "Pending", Done: true));
        Assert.Equal(1, (await activity.RunAsync(context, request)).Requeued);
        Assert.Equal(0, (await activity.RunAsync(context, request)).Requeued);
        Assert.Equal([(stranded.BatchId, true)], starter.Looked);
        Assert.Equal(2, await RequeuesAsync(dataSource, stranded.BatchId));

        // began, then went quiet: its orchestration is ended, looked at again on the very next round, and started again
        await store.BeginAsync(stranded.BatchId, DateTime.UtcNow);
        Assert.Equal(0, (await activity.RunAsync(context, request)).Requeued);
        Assert.Single(starter.Looked);
        await AgeAsync(dataSource, stranded.BatchId, "dispatched_at", "started_at", "watched_at");
        starter.Answers.Enqueue(new Revival(LivenessAction.Terminate, "Running", Done: true));
        starter.Answers.Enqueue(new Revival(LivenessAction.Start, "Terminated", Done: true));
        Assert.Equal(1, (await activity.RunAsync(context, request)).Requeued);
        Assert.Equal(1, (await activity.RunAsync(context, request)).Requeued);
        Assert.Equal(0, (await activity.RunAsync(context, request)).Requeued);
        Assert.Equal(3, starter.Looked.Count);
        Assert.Equal(4, await RequeuesAsync(dataSource, stranded.BatchId));
        Assert.Equal(BatchStatuses.Running, await store.GetStatusAsync(stranded.BatchId));

        // alive and slow (waiting on tokens): looked at once per period and left alone
        await AgeAsync(dataSource, stranded.BatchId, "watched_at");
        Assert.Equal(0, (await activity.RunAsync(context, request)).Requeued);
        Assert.Equal(0, (await activity.RunAsync(context, request)).Requeued);
        Assert.Equal(4, starter.Looked.Count);
        Assert.Equal(BatchStatuses.Running, await store.GetStatusAsync(stranded.BatchId));

        // restarted as often as allowed and still without a live orchestration: no further start, marked failed with why,
        // and what its executions counted stays
        await AgeAsync(dataSource, stranded.BatchId, "watched_at");
        await using (var counted = dataSource.CreateCommand("update batches set token_waits = 3, throttled = 1 where batch_id = $1"))
        {
            counted.Parameters.Add(new NpgsqlParameter { Value = stranded.BatchId });
            await counted.ExecuteNonQueryAsync();
        }
        starter.Answers.Enqueue(new Revival(LivenessAction.Start, "Terminated", Done: true));
        Assert.Equal(0, (await activity.RunAsync(context, request with { MaxRevivals = 4 })).Requeued);
        Assert.Equal((stranded.BatchId, false), starter.Looked[^1]);
        Assert.Equal(BatchStatuses.Failed, await store.GetStatusAsync(stranded.BatchId));
        await using var error = dataSource.CreateCommand("select last_error from batches where batch_id = $1");
        error.Parameters.Add(new NpgsqlParameter { Value = stranded.BatchId });
        Assert.Equal("no live orchestration (Terminated) after 4 restarts; not restarted again", (string)(await error.ExecuteScalarAsync())!);
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

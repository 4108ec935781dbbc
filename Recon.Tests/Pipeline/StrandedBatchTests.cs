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

        public List<string> Restarted { get; } = [];

        public Task<bool> RestartIfNeverBegunAsync(BatchWork batch, CancellationToken cancellationToken)
        {
            Restarted.Add(batch.BatchId);
            return Task.FromResult(true);
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
        await using (var age = dataSource.CreateCommand("update batches set queued_at = now() - interval '10 minutes' where batch_id = $1"))
        {
            age.Parameters.Add(new NpgsqlParameter { Value = stranded.BatchId });
            Assert.Equal(1, await age.ExecuteNonQueryAsync());
        }

        var starter = new RecordingStarter();
        var activity = new DispatchBatchesActivity(store, queue, starter, NullLogger<DispatchBatchesActivity>.Instance);
        var context = new Mock<TaskActivityContext>().Object;
        var request = new DispatchRequest(MaxInFlight: 8, ReservedForHigh: 2, StrandedAfterSeconds: 120);

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
        await using var requeues = dataSource.CreateCommand("select requeues from batches where batch_id = $1");
        requeues.Parameters.Add(new NpgsqlParameter { Value = stranded.BatchId });
        Assert.Equal(1, (int)(await requeues.ExecuteScalarAsync())!);

        // queues empty again and nothing stranded beyond the young row: a third round queues nothing
        var third = await activity.RunAsync(context, request);
        Assert.Equal(0, third.Requeued);
        Assert.Equal((0L, 0L), await client.ApproximateDepthAsync());
        Assert.Empty(starter.Restarted);

        // dispatched long ago and never begun (no started_at): its start message was lost, so it is started again, once
        await using (var age = dataSource.CreateCommand("update batches set dispatched_at = now() - interval '10 minutes' where batch_id = $1"))
        {
            age.Parameters.Add(new NpgsqlParameter { Value = stranded.BatchId });
            Assert.Equal(1, await age.ExecuteNonQueryAsync());
        }
        var fourth = await activity.RunAsync(context, request);
        Assert.Equal(1, fourth.Requeued);
        Assert.Equal([stranded.BatchId], starter.Restarted);
        var fifth = await activity.RunAsync(context, request);
        Assert.Equal(0, fifth.Requeued);
        Assert.Equal([stranded.BatchId], starter.Restarted);

        // a batch that began is never restarted, however old its dispatch
        await store.BeginAsync(stranded.BatchId, DateTime.UtcNow);
        await using (var age = dataSource.CreateCommand("update batches set dispatched_at = now() - interval '10 minutes' where batch_id = $1"))
        {
            age.Parameters.Add(new NpgsqlParameter { Value = stranded.BatchId });
            Assert.Equal(1, await age.ExecuteNonQueryAsync());
        }
        Assert.Equal(0, (await activity.RunAsync(context, request)).Requeued);
        Assert.Single(starter.Restarted);
    }
}

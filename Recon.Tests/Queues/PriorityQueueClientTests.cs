using Azure.Storage.Queues;
using Recon.Core.Queues;
using Recon.Tests.Infrastructure;

namespace Recon.Tests.Queues;

/// <summary>Against Azurite; every test has its own queues.</summary>
public sealed class PriorityQueueClientTests
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(120);

    private static async Task<(PriorityQueueClient Client, QueueServiceClient Service, PriorityQueueOptions Options)> NewClientAsync(int sharePercent, int maxDequeueCount = 5)
    {
        var service = new QueueServiceClient(TestStack.Storage);
        var id = Guid.NewGuid().ToString("N")[..12];
        var options = new PriorityQueueOptions
        {
            HighQueue = $"t{id}-high",
            LowQueue = $"t{id}-low",
            GuaranteedLowSharePercent = sharePercent,
            MaxDequeueCount = maxDequeueCount,
        };
        var client = new PriorityQueueClient(service, options);
        await client.CreateQueuesAsync();
        return (client, service, options);
    }

    private static async Task FillAsync(PriorityQueueClient client, int high, int low)
    {
        for (var i = 0; i < Math.Max(high, low); i++)
        {
            if (i < high)
            {
                await client.EnqueueAsync(BatchMessageCodecTests.Sample($"h{i:000}"), 0);
            }
            if (i < low)
            {
                await client.EnqueueAsync(BatchMessageCodecTests.Sample($"l{i:000}"), 1 + (i % 10));
            }
        }
    }

    private static async Task<List<LeasedBatchMessage>> DrainAsync(PriorityQueueClient client, int max)
    {
        var order = new List<LeasedBatchMessage>();
        // bounded: a few more rounds than the messages could need
        for (var round = 0; round < 200; round++)
        {
            var batch = await client.DequeueAsync(max, Lease);
            if (batch.Count == 0)
            {
                break;
            }
            foreach (var m in batch)
            {
                order.Add(m);
                await m.CompleteAsync();
            }
        }
        return order;
    }

    [Fact]
    public async Task BothQueuesFull_NoShare_EveryHighBeforeAnyLow_EachOnce()
    {
        var (client, _, _) = await NewClientAsync(sharePercent: 0);
        await FillAsync(client, high: 25, low: 25);

        var order = await DrainAsync(client, max: 4);

        Assert.Equal(50, order.Count);
        Assert.Equal(50, order.Select(m => m.Message.BatchId).Distinct().Count());
        Assert.All(order.Take(25), m => Assert.True(m.IsHigh, $"{m.Message.BatchId} came before a high message"));
        Assert.All(order.Skip(25), m => Assert.False(m.IsHigh));
        Assert.Empty(await client.DequeueAsync(32, Lease));
        Assert.Equal((0L, 0L), await client.ApproximateDepthAsync());
    }

    [Fact]
    public async Task BothQueuesFull_TenPercentShare_LowGetsItsShareAndNoMore_WhileHighWaits()
    {
        var (client, _, _) = await NewClientAsync(sharePercent: 10);
        await FillAsync(client, high: 40, low: 30);

        var order = await DrainAsync(client, max: 5);

        Assert.Equal(70, order.Count);
        Assert.Equal(70, order.Select(m => m.Message.BatchId).Distinct().Count());
        var lastHigh = order.FindLastIndex(m => m.IsHigh);
        var lowBeforeLastHigh = order.Take(lastHigh + 1).Count(m => !m.IsHigh);
        // 10% of the messages delivered while high still had work, rounded up: the share, no more
        Assert.InRange(lowBeforeLastHigh, 1, (int)Math.Ceiling((lastHigh + 1) * 0.10) + 1);
        Assert.All(order.Skip(lastHigh + 1), m => Assert.False(m.IsHigh));
    }

    [Fact]
    public async Task Abandoned_ComesBackWithItsReason_AndAfterTooManyAttemptsLandsInPoison()
    {
        var (client, service, options) = await NewClientAsync(sharePercent: 0, maxDequeueCount: 2);
        await client.EnqueueAsync(BatchMessageCodecTests.Sample("h-fails"), 0);

        var first = Assert.Single(await client.DequeueAsync(1, Lease));
        Assert.Null(first.LastError);
        await first.AbandonAsync("provider timed out");
        var second = Assert.Single(await client.DequeueAsync(1, Lease));
        Assert.Equal("provider timed out", second.LastError);
        Assert.Equal(2, second.DequeueCount);
        await second.AbandonAsync("provider timed out again");

        Assert.Empty(await client.DequeueAsync(1, Lease)); // third delivery exceeds the limit: poisoned, not returned
        var poison = service.GetQueueClient(QueueNames.Poison(options.HighQueue));
        var record = Assert.Single((await poison.ReceiveMessagesAsync(32)).Value);
        var text = record.Body.ToString();
        Assert.Contains("handed out 3 times", text, StringComparison.Ordinal);
        Assert.Contains("provider timed out again", text, StringComparison.Ordinal);
        Assert.Contains("h-fails", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MalformedMessage_GoesToPoisonWithReason_OthersStillDelivered()
    {
        var (client, service, options) = await NewClientAsync(sharePercent: 0);
        var low = service.GetQueueClient(options.LowQueue);
        await low.SendMessageAsync("{\"version\":1,\"batchId\":\"x\"");
        await low.SendMessageAsync("{\"version\":7}");
        await client.EnqueueAsync(BatchMessageCodecTests.Sample("l-good"), 4);

        var taken = await client.DequeueAsync(10, Lease);
        Assert.Equal("l-good", Assert.Single(taken).Message.BatchId);

        var poison = service.GetQueueClient(QueueNames.Poison(options.LowQueue));
        var records = (await poison.ReceiveMessagesAsync(32)).Value.Select(m => m.Body.ToString()).ToList();
        Assert.Equal(2, records.Count);
        Assert.Contains(records, r => r.Contains("malformed message: not a batch message (invalid JSON", StringComparison.Ordinal));
        Assert.Contains(records, r => r.Contains("version 7 is not supported", StringComparison.Ordinal));
    }

    [Fact]
    public async Task PoisonAsync_MovesWithReason_AndCompleteTwiceIsRefused()
    {
        var (client, service, options) = await NewClientAsync(sharePercent: 0);
        await client.EnqueueAsync(BatchMessageCodecTests.Sample("h-bad"), 0);
        await client.EnqueueAsync(BatchMessageCodecTests.Sample("h-ok"), 0);
        var taken = await client.DequeueAsync(2, Lease);
        Assert.Equal(2, taken.Count);
        var bad = taken.Single(m => m.Message.BatchId == "h-bad");
        var ok = taken.Single(m => m.Message.BatchId == "h-ok");
        await bad.PoisonAsync("account closed at the provider");
        await ok.CompleteAsync();
        await Assert.ThrowsAsync<InvalidOperationException>(() => ok.CompleteAsync());

        Assert.Empty(await client.DequeueAsync(5, Lease));
        var record = Assert.Single((await service.GetQueueClient(QueueNames.Poison(options.HighQueue)).ReceiveMessagesAsync(32)).Value);
        Assert.Contains("account closed at the provider", record.Body.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Enqueue_InvalidPriority_IsRefusedBeforeSending()
    {
        var (client, _, _) = await NewClientAsync(sharePercent: 0);
        await Assert.ThrowsAsync<ArgumentException>(() => client.EnqueueAsync(BatchMessageCodecTests.Sample(), 11));
        Assert.Equal((0L, 0L), await client.ApproximateDepthAsync());
    }
}

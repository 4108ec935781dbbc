using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Recon.Core.Priority;

namespace Recon.Core.Queues;

/// <summary>
/// recon-high and recon-low on Azure Storage queues (Azurite locally). <see cref="DequeueAsync"/> takes from high
/// first and from low only when high is empty, except for the guaranteed low share, so low never starves.
/// </summary>
/// <remarks>
/// One instance per dequeuer (it keeps the share's credit); enqueueing is stateless and thread-safe. Messages are
/// plain-text JSON (<see cref="BatchMessageCodec"/>). Unreadable messages and messages handed out more than
/// <see cref="PriorityQueueOptions.MaxDequeueCount"/> times go to <c>&lt;queue&gt;-poison</c> with the reason and are
/// not returned.
/// </remarks>
public sealed class PriorityQueueClient
{
    /// <summary>Azure Storage hands out at most 32 messages per receive.</summary>
    private const int MaxReceiveBatch = 32;

    private readonly QueueClient _high;
    private readonly QueueClient _low;
    private readonly QueueClient _highPoison;
    private readonly QueueClient _lowPoison;
    private readonly GuaranteedShare _share;
    private readonly int _maxDequeueCount;
    private readonly SemaphoreSlim _dequeueGate = new(1, 1);

    public PriorityQueueClient(QueueServiceClient service, PriorityQueueOptions options)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(options);
        if (options.MaxDequeueCount < 1)
        {
            throw new InvalidOperationException($"{PriorityQueueOptions.SectionName}:MaxDequeueCount must be at least 1 (was {options.MaxDequeueCount}).");
        }
        _high = service.GetQueueClient(options.HighQueue);
        _low = service.GetQueueClient(options.LowQueue);
        _highPoison = service.GetQueueClient(QueueNames.Poison(options.HighQueue));
        _lowPoison = service.GetQueueClient(QueueNames.Poison(options.LowQueue));
        _share = new GuaranteedShare(options.GuaranteedLowSharePercent);
        _maxDequeueCount = options.MaxDequeueCount;
    }

    /// <summary>Creates the two queues and their poison queues if missing.</summary>
    public async Task CreateQueuesAsync(CancellationToken cancellationToken = default)
    {
        foreach (var queue in new[] { _high, _low, _highPoison, _lowPoison })
        {
            await queue.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Queues <paramref name="message"/> by its <see cref="BatchMessage.Priority"/>: 0 to high, 1..10 to low.</summary>
    public async Task EnqueueAsync(BatchMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        var text = BatchMessageCodec.Encode(message);
        await (PriorityPolicy.IsHigh(message.Priority) ? _high : _low).SendMessageAsync(text, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Queues <paramref name="messages"/> in packs (<see cref="BatchMessageCodec.EncodePack"/>): per priority class, up
    /// to <see cref="BatchMessageCodec.MaxPackSize"/> batches per queue message. Each batch is still handed out, completed,
    /// abandoned or poisoned on its own; the queue stores, sends, receives and deletes one message per pack. Measured on
    /// the spike benchmark: Azurite's per-call work and its minute-by-minute sweep both grow with the messages it holds,
    /// and a real storage account bills and rate-limits per message operation.
    /// </summary>
    public async Task EnqueuePackAsync(IReadOnlyList<BatchMessage> messages, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        foreach (var group in messages.GroupBy(m => PriorityPolicy.IsHigh(m.Priority)))
        {
            foreach (var pack in group.Chunk(BatchMessageCodec.MaxPackSize))
            {
                await (group.Key ? _high : _low).SendMessageAsync(BatchMessageCodec.EncodePack(pack), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Queues <paramref name="message"/> with <paramref name="priority"/> (0..10).</summary>
    public Task EnqueueAsync(BatchMessage message, int priority, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        return EnqueueAsync(message with { Priority = priority }, cancellationToken);
    }

    /// <summary>
    /// Takes up to <paramref name="maxMessages"/> readable messages, leased for <paramref name="visibilityTimeout"/>:
    /// high first, low for the guaranteed share and for whatever high cannot fill.
    /// </summary>
    public async Task<IReadOnlyList<LeasedBatchMessage>> DequeueAsync(int maxMessages, TimeSpan visibilityTimeout, CancellationToken cancellationToken = default)
    {
        CheckLease(maxMessages, visibilityTimeout);
        await _dequeueGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var taken = new List<LeasedBatchMessage>(maxMessages);
            var reservedLow = _share.LowSlotsOwed(maxMessages);
            var highEmpty = await TakeAsync(_high, _highPoison, maxMessages - reservedLow, visibilityTimeout, taken, cancellationToken).ConfigureAwait(false);
            var highCount = taken.Count;
            var lowWanted = maxMessages - highCount;
            var lowEmpty = await TakeAsync(_low, _lowPoison, lowWanted, visibilityTimeout, taken, cancellationToken).ConfigureAwait(false);
            var lowCount = taken.Count - highCount;
            if (taken.Count < maxMessages && !highEmpty)
            {
                // low had less than its reserved share: give the slots back to high
                await TakeAsync(_high, _highPoison, maxMessages - taken.Count, visibilityTimeout, taken, cancellationToken).ConfigureAwait(false);
            }
            _share.Record(taken.Count - lowCount, lowCount, lowEmpty);
            return taken;
        }
        finally
        {
            _dequeueGate.Release();
        }
    }

    private static void CheckLease(int maxMessages, TimeSpan visibilityTimeout)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessages, 1);
        if (visibilityTimeout < TimeSpan.FromSeconds(1))
        {
            throw new ArgumentOutOfRangeException(nameof(visibilityTimeout), visibilityTimeout, "Lease messages for at least a second (queue visibility is whole seconds).");
        }
    }

    /// <summary>
    /// Takes up to <paramref name="maxMessages"/> readable messages from the high queue only: for slots reserved for
    /// high work, which a low message must not take. Does not count toward the low share.
    /// </summary>
    public async Task<IReadOnlyList<LeasedBatchMessage>> DequeueHighAsync(int maxMessages, TimeSpan visibilityTimeout, CancellationToken cancellationToken = default)
    {
        CheckLease(maxMessages, visibilityTimeout);
        await _dequeueGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var taken = new List<LeasedBatchMessage>(maxMessages);
            await TakeAsync(_high, _highPoison, maxMessages, visibilityTimeout, taken, cancellationToken).ConfigureAwait(false);
            return taken;
        }
        finally
        {
            _dequeueGate.Release();
        }
    }

    /// <summary>Approximate number of messages waiting in each queue (for scaling and status, not for logic).</summary>
    public async Task<(long High, long Low)> ApproximateDepthAsync(CancellationToken cancellationToken = default)
    {
        var high = await _high.GetPropertiesAsync(cancellationToken).ConfigureAwait(false);
        var low = await _low.GetPropertiesAsync(cancellationToken).ConfigureAwait(false);
        return (high.Value.ApproximateMessagesCount, low.Value.ApproximateMessagesCount);
    }

    /// <summary>Receives until <paramref name="wanted"/> readable messages are taken or the queue has none; returns true when it ran dry.</summary>
    private async Task<bool> TakeAsync(
        QueueClient queue, QueueClient poison, int wanted, TimeSpan visibilityTimeout, List<LeasedBatchMessage> into, CancellationToken cancellationToken)
    {
        var goal = into.Count + wanted;
        while (into.Count < goal)
        {
            var ask = Math.Min(MaxReceiveBatch, goal - into.Count);
            QueueMessage[] received = await queue.ReceiveMessagesAsync(ask, visibilityTimeout, cancellationToken).ConfigureAwait(false);
            foreach (var m in received)
            {
                var text = m.Body.ToString();
                IReadOnlyList<(BatchMessage Message, string? LastError, int PriorDeliveries)> batches;
                try
                {
                    batches = BatchMessageCodec.DecodeAll(text);
                }
                catch (MalformedBatchMessageException ex)
                {
                    await LeasedBatchMessage.PoisonMessageAsync(queue, poison, m.MessageId, m.PopReceipt, m.DequeueCount, text,
                        $"malformed message: {ex.Message}", cancellationToken).ConfigureAwait(false);
                    continue;
                }
                var isHigh = ReferenceEquals(queue, _high);
                if (batches.Count == 1)
                {
                    var (message, lastError, prior) = batches[0];
                    if (m.DequeueCount + prior > _maxDequeueCount)
                    {
                        await LeasedBatchMessage.PoisonMessageAsync(queue, poison, m.MessageId, m.PopReceipt, m.DequeueCount + prior, text,
                            $"handed out {m.DequeueCount + prior} times without completing (limit {_maxDequeueCount}); last error: {lastError ?? "none recorded"}",
                            cancellationToken).ConfigureAwait(false);
                        continue;
                    }
                    into.Add(new LeasedBatchMessage(queue, poison, isHigh, m.MessageId, m.PopReceipt, m.DequeueCount, message, lastError, null, prior));
                    continue;
                }
                // a pack (a pack of one is read as a plain message): every batch leased on its own over the shared message, which goes once all are settled
                var pack = new PackLease(queue, m.MessageId, m.PopReceipt, batches.Count);
                foreach (var (message, lastError, prior) in batches)
                {
                    var leased = new LeasedBatchMessage(queue, poison, isHigh, m.MessageId, m.PopReceipt, m.DequeueCount, message, lastError, pack, prior);
                    if (leased.DequeueCount > _maxDequeueCount)
                    {
                        await leased.PoisonAsync(
                            $"handed out {leased.DequeueCount} times without completing (limit {_maxDequeueCount}); last error: {lastError ?? "none recorded"}",
                            cancellationToken).ConfigureAwait(false);
                        continue;
                    }
                    into.Add(leased);
                }
            }
            if (received.Length < ask)
            {
                return true;
            }
        }
        return false;
    }
}

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
                BatchMessage message;
                string? lastError;
                try
                {
                    (message, lastError) = BatchMessageCodec.Decode(text);
                }
                catch (MalformedBatchMessageException ex)
                {
                    await LeasedBatchMessage.PoisonMessageAsync(queue, poison, m.MessageId, m.PopReceipt, m.DequeueCount, text,
                        $"malformed message: {ex.Message}", cancellationToken).ConfigureAwait(false);
                    continue;
                }
                if (m.DequeueCount > _maxDequeueCount)
                {
                    await LeasedBatchMessage.PoisonMessageAsync(queue, poison, m.MessageId, m.PopReceipt, m.DequeueCount, text,
                        $"handed out {m.DequeueCount} times without completing (limit {_maxDequeueCount}); last error: {lastError ?? "none recorded"}",
                        cancellationToken).ConfigureAwait(false);
                    continue;
                }
                into.Add(new LeasedBatchMessage(queue, poison, ReferenceEquals(queue, _high), m.MessageId, m.PopReceipt, m.DequeueCount, message, lastError));
            }
            if (received.Length < ask)
            {
                return true;
            }
        }
        return false;
    }
}

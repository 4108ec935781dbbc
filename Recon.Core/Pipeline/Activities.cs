using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using Recon.Core.Ingestion;
using Recon.Core.Persistence;
using Recon.Core.RateLimiting;
using Recon.Core.Telemetry;

namespace Recon.Core.Pipeline;

/// <summary>
/// One dispatcher round: fills the free in-flight slots from the queues, high first (low batches never take the slots
/// reserved for high), moves the batches to running in one statement, takes their provider tokens in one coalesced ask
/// of the bucket, and hands them back for the dispatcher to run, one <see cref="RunBatchActivity"/> each. Unreadable
/// or repeatedly failing messages go to the poison queue with their reason; stranded and stalled batches are queued again.
/// </summary>
public sealed class DispatchBatchesActivity(BatchStore batches, IBatchQueue queue, IProviderRateLimiter limiter, ILogger<DispatchBatchesActivity> logger)
    : TaskActivity<DispatchRequest, DispatchResult>
{
    /// <summary>A message handed out this often without being completed is poison (the Functions default is 5 too).</summary>
    public const int MaxDequeueCount = 5;

    /// <summary>Stranded batches queued again per round, at most (the rest follow in the next rounds).</summary>
    public const int StrandedPerRound = 100;

    public override async Task<DispatchResult> RunAsync(TaskActivityContext context, DispatchRequest input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var (high, low) = await batches.CountInFlightAsync().ConfigureAwait(false);
        var free = Math.Max(0, input.MaxInFlight - high - low);
        // low batches may not take the reserved slots: a high batch always finds one
        var freeForLow = Math.Max(0, input.MaxInFlight - input.ReservedForHigh - high - low);
        int duplicates = 0, poisoned = 0;
        var toRun = new List<BatchWork>();
        if (free > 0)
        {
            var messages = await queue.DequeueAsync(free, Math.Min(free, freeForLow), CancellationToken.None).ConfigureAwait(false);
            var readable = new List<QueuedBatch>(messages.Count);
            foreach (var message in messages)
            {
                if (message.Batch is null || message.DequeueCount > MaxDequeueCount)
                {
                    var reason = message.Batch is null
                        ? $"unreadable batch message: {message.Error}"
                        : $"batch {message.Batch.BatchId} dequeued {message.DequeueCount} times without being started";
                    logger.LogWarning("Poison batch message: {Reason}", reason);
                    await queue.PoisonAsync(message, reason, CancellationToken.None).ConfigureAwait(false);
                    poisoned++;
                    continue;
                }
                readable.Add(message);
            }
            if (readable.Count > 0)
            {
                // a batch runs once per message only while it is queued: a repeated message finds it running or finished
                var moved = await batches.MarkDispatchedAsync(readable.Select(m => m.Batch!.BatchId).Distinct(StringComparer.Ordinal).ToList()).ConfigureAwait(false);
                foreach (var message in readable)
                {
                    if (moved.Contains(message.Batch!.BatchId) && !toRun.Any(b => b.BatchId == message.Batch.BatchId))
                    {
                        toRun.Add(message.Batch);
                        if (message.High)
                        {
                            high++;
                        }
                        else
                        {
                            low++;
                        }
                    }
                    else
                    {
                        duplicates++;
                    }
                    await queue.CompleteAsync(message, CancellationToken.None).ConfigureAwait(false);
                }
            }
        }
        var grants = await TakeTokensAsync(toRun).ConfigureAwait(false);

        var (queuedHigh, queuedLow) = await queue.DepthAsync(CancellationToken.None).ConfigureAwait(false);
        var requeued = 0;
        if (queuedHigh + queuedLow == 0 && toRun.Count == 0 && input.StrandedAfterSeconds > 0)
        {
            // Both queues empty (the count includes leased messages), yet a batch may still be queued: its message was lost
            // (a crash between the row and the send) or poisoned before it started. Queue it again; a repeated message finds
            // the batch running or finished and is dropped.
            foreach (var batch in await batches.TakeStrandedAsync(TimeSpan.FromSeconds(input.StrandedAfterSeconds), StrandedPerRound).ConfigureAwait(false))
            {
                logger.LogWarning("Batch {BatchId} was queued with no message on either queue; queued again", batch.BatchId);
                await queue.EnqueueAsync(batch, CancellationToken.None).ConfigureAwait(false);
                requeued++;
            }
        }
        if (input.StalledAfterSeconds > 0)
        {
            requeued += await RequeueStalledAsync(TimeSpan.FromSeconds(input.StalledAfterSeconds), input.MaxRevivals).ConfigureAwait(false);
        }
        // idle only when the database agrees: a queued row without a message (stranded) or a batch still running keeps
        // the dispatcher polling until it is requeued or done
        var idle = toRun.Count == 0 && requeued == 0 && high + low == 0 && queuedHigh + queuedLow == 0
            && await batches.CountUnfinishedAsync().ConfigureAwait(false) == 0;
        var run = toRun.Select((b, i) => new RunBatch(b, grants[i])).ToList();
        return new DispatchResult(toRun.Count, duplicates, poisoned, high, low, queuedHigh, queuedLow, requeued, idle, run);
    }

    /// <summary>One token per batch, asked all at once so the bucket's coalescing path answers them in one Redis call; a
    /// batch without one takes its own in its runner (waiting there to the millisecond). Redis down: none granted — the
    /// runners then fail closed, never calling a provider without a token.</summary>
    private async Task<bool[]> TakeTokensAsync(IReadOnlyList<BatchWork> toRun)
    {
        var grants = new bool[toRun.Count];
        if (toRun.Count == 0)
        {
            return grants;
        }
        try
        {
            var asks = toRun.Select(b => limiter.TryAcquireAsync(b.Page.Provider, ProviderEndpoints.ListEndpoint(b.Page.Provider), b.Page.Account, 1, CancellationToken.None).AsTask()).ToArray();
            var decisions = await Task.WhenAll(asks).ConfigureAwait(false);
            for (var i = 0; i < decisions.Length; i++)
            {
                grants[i] = decisions[i].Granted;
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogWarning(ex, "Could not take tokens for {Count} batches; their runners ask the bucket themselves", toRun.Count);
        }
        return grants;
    }

    /// <summary>
    /// Batches running with no progress for <paramref name="stalledAfter"/> (dispatched and never begun, or begun and never
    /// finished): their runner died with a worker, or its activity message is held back by the storage backend. Each is
    /// queued again (posting is idempotent, and a runner that was only slow finds the batch finished); after
    /// <paramref name="maxRevivals"/> requeues it is marked failed with the reason instead, for a person to look at.
    /// </summary>
    private async Task<int> RequeueStalledAsync(TimeSpan stalledAfter, int maxRevivals)
    {
        var requeued = 0;
        foreach (var watched in await batches.TakeLongRunningAsync(stalledAfter, StrandedPerRound).ConfigureAwait(false))
        {
            var batch = watched.Work;
            if (watched.Requeues >= maxRevivals)
            {
                var reason = $"no progress for {stalledAfter.TotalSeconds:0} s after {watched.Requeues} requeues; not queued again";
                logger.LogError("Batch {BatchId}: {Reason}", batch.BatchId, reason);
                await batches.ApplyAsync(new BatchStatusUpdate(batch.BatchId, BatchStatuses.Failed, DateTime.UtcNow, reason)).ConfigureAwait(false);
                continue;
            }
            if (await batches.ReturnToQueueAsync(batch.BatchId).ConfigureAwait(false))
            {
                logger.LogWarning("Batch {BatchId} made no progress for {Seconds} s; queued again", batch.BatchId, stalledAfter.TotalSeconds);
                await queue.EnqueueAsync(batch, CancellationToken.None).ConfigureAwait(false);
                requeued++;
            }
        }
        return requeued;
    }
}

using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using Recon.Core.Ingestion;
using Recon.Core.Persistence;
using Recon.Core.RateLimiting;
using Recon.Core.Telemetry;

namespace Recon.Core.Pipeline;

/// <summary>Plans a run: first-page batches with deterministic ids, value and priority; records the run.</summary>
public sealed class PlanIngestActivity(BatchStore batches, IBatchValuation valuation) : TaskActivity<ReconciliationRequest, IngestPlan>
{
    public override async Task<IngestPlan> RunAsync(TaskActivityContext context, ReconciliationRequest input)
    {
        var errors = ReconciliationRequests.Validate(input);
        if (errors.Count > 0)
        {
            return new IngestPlan(input is null ? "" : ReconciliationRequests.RunIdOf(input), [], errors);
        }
        var runId = ReconciliationRequests.RunIdOf(input);
        await batches.RecordRunAsync(runId, input).ConfigureAwait(false);
        var planned = new List<BatchWork>();
        foreach (var page in BatchPlanner.Pages(input))
        {
            var (value, currency) = input.Event is { } e
                ? (e.AmountMinor, e.Currency)
                : await valuation.ValueOfAsync(page, CancellationToken.None).ConfigureAwait(false);
            planned.Add(new BatchWork(BatchIds.For(runId, page), runId, page, valuation.PriorityOf(value, currency), value, currency));
        }
        return new IngestPlan(runId, planned, []);
    }
}

/// <summary>Records batches as queued and puts those still queued on recon-high / recon-low (idempotent: a batch
/// already running or finished is not enqueued again; a repeated message is absorbed by the instance id).</summary>
public sealed class EnqueueBatchesActivity(BatchStore batches, IBatchQueue queue, IBatchStarter starter, ILogger<EnqueueBatchesActivity> logger)
    : TaskActivity<IReadOnlyList<BatchWork>, int>
{
    public override async Task<int> RunAsync(TaskActivityContext context, IReadOnlyList<BatchWork> input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var toEnqueue = await batches.InsertQueuedAsync(input).ConfigureAwait(false);
        foreach (var batch in toEnqueue)
        {
            await queue.EnqueueAsync(batch, CancellationToken.None).ConfigureAwait(false);
        }
        if (toEnqueue.Count > 0)
        {
            try
            {
                // after the messages are on the queue: a dispatcher woken by this finds them
                await starter.NotifyDispatcherAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // the work is queued either way: an idle dispatcher finds it at its next look (IdleWaitSeconds at most)
                logger.LogWarning(ex, "Could not signal the dispatcher after queueing {Count} batches; it finds them at its next look", toEnqueue.Count);
            }
        }
        return toEnqueue.Count;
    }
}

/// <summary>One dispatcher round: fill the free in-flight slots from the queues, high first, starting one
/// ReconcileBatch per batch; unreadable or repeatedly failing messages go to the poison queue with their reason.</summary>
public sealed class DispatchBatchesActivity(BatchStore batches, IBatchQueue queue, IBatchStarter starter, ILogger<DispatchBatchesActivity> logger)
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
        int started = 0, duplicates = 0, poisoned = 0;
        if (free > 0)
        {
            var messages = await queue.DequeueAsync(free, Math.Min(free, freeForLow), CancellationToken.None).ConfigureAwait(false);
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
                var status = await batches.GetStatusAsync(message.Batch.BatchId).ConfigureAwait(false);
                if (status is BatchStatuses.Queued or null && await starter.TryStartAsync(message.Batch, CancellationToken.None).ConfigureAwait(false))
                {
                    await batches.MarkDispatchedAsync(message.Batch.BatchId).ConfigureAwait(false);
                    if (message.High)
                    {
                        high++;
                    }
                    else
                    {
                        low++;
                    }
                    started++;
                }
                else
                {
                    duplicates++;
                }
                await queue.CompleteAsync(message, CancellationToken.None).ConfigureAwait(false);
            }
        }
        var (queuedHigh, queuedLow) = await queue.DepthAsync(CancellationToken.None).ConfigureAwait(false);
        var requeued = 0;
        if (queuedHigh + queuedLow == 0 && started == 0 && input.StrandedAfterSeconds > 0)
        {
            // Both queues empty (the count includes leased messages), yet a batch may still be queued: its message was lost
            // (a crash between the row and the send) or poisoned before it started. Queue it again; a duplicate cannot
            // start twice and a finished batch posts nothing.
            foreach (var batch in await batches.TakeStrandedAsync(TimeSpan.FromSeconds(input.StrandedAfterSeconds), StrandedPerRound).ConfigureAwait(false))
            {
                logger.LogWarning("Batch {BatchId} was queued with no message on either queue; queued again", batch.BatchId);
                await queue.EnqueueAsync(batch, CancellationToken.None).ConfigureAwait(false);
                requeued++;
            }
        }
        if (input.StalledAfterSeconds > 0)
        {
            requeued += await ReviveLongRunningAsync(TimeSpan.FromSeconds(input.StalledAfterSeconds), input.MaxRevivals).ConfigureAwait(false);
        }
        // idle only when the database agrees: a queued row without a message (stranded) or a batch still running keeps
        // the dispatcher polling until it is requeued or done
        var idle = started == 0 && requeued == 0 && high + low == 0 && queuedHigh + queuedLow == 0
            && await batches.CountUnfinishedAsync().ConfigureAwait(false) == 0;
        return new DispatchResult(started, duplicates, poisoned, high, low, queuedHigh, queuedLow, requeued, idle);
    }

    /// <summary>
    /// Batches running for long (or dispatched and never begun): a start message lost with a crashed worker, an
    /// orchestration whose messages are gone or held back for minutes. Each is looked at once per period; one with no
    /// live orchestration gets a new execution under the same id (posting is idempotent), one that stopped checkpointing is
    /// ended first and restarted on the next round. After <paramref name="maxRevivals"/> restarts it is marked failed with
    /// the reason instead, for a person to look at. Returns how many were restarted or ended.
    /// </summary>
    private async Task<int> ReviveLongRunningAsync(TimeSpan stalledAfter, int maxRevivals)
    {
        var revived = 0;
        foreach (var watched in await batches.TakeLongRunningAsync(stalledAfter, StrandedPerRound).ConfigureAwait(false))
        {
            var batch = watched.Work;
            Revival revival;
            try
            {
                revival = await starter.ReviveAsync(batch, stalledAfter, mayStart: watched.Requeues < maxRevivals, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // one batch the host cannot look at must not stop the round; it is looked at again next period
                logger.LogWarning(ex, "Could not look at the orchestration of long-running batch {BatchId}", batch.BatchId);
                await batches.RecordErrorAsync(batch.BatchId, $"watch: {ex.GetType().Name}: {ex.Message}").ConfigureAwait(false);
                continue;
            }
            switch (revival)
            {
                case { Action: LivenessAction.Start, Done: true }:
                    logger.LogWarning("Batch {BatchId} had no live orchestration ({Status}); started again", batch.BatchId, revival.Status ?? "absent");
                    await batches.RecordRevivalAsync(batch.BatchId, lookAgainNow: false).ConfigureAwait(false);
                    revived++;
                    break;
                case { Action: LivenessAction.Terminate, Done: true }:
                    logger.LogWarning("Batch {BatchId}: its orchestration made no progress for {Seconds} s; ended, to be started again", batch.BatchId, stalledAfter.TotalSeconds);
                    await batches.RecordRevivalAsync(batch.BatchId, lookAgainNow: true).ConfigureAwait(false);
                    revived++;
                    break;
                case { Action: LivenessAction.Start, Done: false } when watched.Requeues >= maxRevivals:
                    var reason = $"no live orchestration ({revival.Status ?? "absent"}) after {watched.Requeues} restarts; not restarted again";
                    logger.LogError("Batch {BatchId}: {Reason}", batch.BatchId, reason);
                    await batches.ApplyAsync(new BatchStatusUpdate(batch.BatchId, BatchStatuses.Failed, DateTime.UtcNow, reason)).ConfigureAwait(false);
                    break;
            }
        }
        return revived;
    }
}

/// <summary>Marks the batch running; says whether a previous run already finished it (a duplicate).</summary>
public sealed class BeginBatchActivity(BatchStore batches) : TaskActivity<BeginBatch, BeginBatchResult>
{
    public override async Task<BeginBatchResult> RunAsync(TaskActivityContext context, BeginBatch input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var status = await batches.BeginAsync(input.BatchId, input.StartedAtUtc).ConfigureAwait(false);
        return new BeginBatchResult(status is BatchStatuses.Done or BatchStatuses.Failed, status);
    }
}

/// <summary>Asks the Redis token bucket for a provider call; a refusal comes back as a wait, never as a sleep.</summary>
public sealed class AcquireTokensActivity(IProviderRateLimiter limiter) : TaskActivity<TokenRequest, TokenGrant>
{
    public override async Task<TokenGrant> RunAsync(TaskActivityContext context, TokenRequest input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var decision = await limiter.TryAcquireAsync(input.Provider, input.Endpoint, input.Scope, input.Tokens, CancellationToken.None).ConfigureAwait(false);
        if (!decision.Granted)
        {
            ReconMetrics.RecordTokenWait(input.Provider, decision.RetryAfter);
        }
        return new TokenGrant(decision.Granted, decision.Granted ? 0 : (long)Math.Ceiling(decision.RetryAfter.TotalMilliseconds));
    }
}

/// <summary>One provider call with a 10 s timeout, its page stored before the answer returns; a 429 returns as
/// "throttled" (the orchestration waits on a timer), any other failure throws so the orchestration retries it.</summary>
public sealed class FetchProviderPageActivity(IEnumerable<IProviderPageFetcher> fetchers, IPageStore pages, BatchStore batches)
    : TaskActivity<FetchPage, FetchedPage>
{
    public override async Task<FetchedPage> RunAsync(TaskActivityContext context, FetchPage input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var fetcher = fetchers.FirstOrDefault(f => f.Provider == input.Page.Provider)
            ?? throw new InvalidOperationException($"No page fetcher for provider '{input.Page.Provider}': set its {ProviderOptions.SectionName} settings (see README, Provider sandboxes).");
        await batches.RecordFetchAttemptAsync(input.BatchId).ConfigureAwait(false);
        var endpoint = ProviderEndpoints.ListEndpoint(input.Page.Provider);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        ProviderPage page;
        using (var timeout = new CancellationTokenSource(PipelineLimits.ProviderCallTimeout))
        {
            try
            {
                page = await fetcher.FetchPageAsync(input.Page, timeout.Token).ConfigureAwait(false);
                ReconMetrics.RecordProviderCall(input.Page.Provider, endpoint, 200, clock.Elapsed);
            }
            catch (ProviderThrottledException ex)
            {
                ReconMetrics.RecordProviderCall(input.Page.Provider, endpoint, 429, clock.Elapsed);
                await batches.RecordErrorAsync(input.BatchId, ex.Message).ConfigureAwait(false);
                return FetchedPage.ThrottledFor(ex.RetryAfter);
            }
            catch (Ingestion.Plaid.PlaidSyncMutationException ex)
            {
                // not a failure of this call: the chain's earlier pages are stale, and Plaid asks for pagination to restart
                ReconMetrics.RecordProviderCall(input.Page.Provider, endpoint, 400, clock.Elapsed);
                await batches.RecordErrorAsync(input.BatchId, ex.Message).ConfigureAwait(false);
                return FetchedPage.ChangedDuringPagination();
            }
            catch (Exception ex) when (ex is ProviderTimeoutException || (ex is OperationCanceledException && timeout.IsCancellationRequested))
            {
                ReconMetrics.RecordProviderCall(input.Page.Provider, endpoint, 0, clock.Elapsed);
                var message = $"{input.Page.Provider} did not answer within {PipelineLimits.ProviderCallTimeout.TotalSeconds:0} s";
                await batches.RecordErrorAsync(input.BatchId, message).ConfigureAwait(false);
                throw new TimeoutException(message, ex);
            }
            catch (Exception ex)
            {
                ReconMetrics.RecordProviderCall(input.Page.Provider, endpoint, 0, clock.Elapsed);
                await batches.RecordErrorAsync(input.BatchId, $"{ex.GetType().Name}: {ex.Message}").ConfigureAwait(false);
                throw;
            }
        }
        await pages.StoreAsync(input.BatchId, page, CancellationToken.None).ConfigureAwait(false);
        return new FetchedPage(false, 0, page.Transactions.Select(t => t.ProviderTxId).ToList(), page.RemovedIds, page.NextCursor, page.HasMore);
    }
}

/// <summary>Matches the page's transactions against ledger candidates and posts results, exceptions and audit in one
/// transaction, idempotent on (provider, provider id).</summary>
public sealed class MatchAndPostActivity(IBatchPoster poster) : TaskActivity<MatchAndPostInput, PostSummary>
{
    public override Task<PostSummary> RunAsync(TaskActivityContext context, MatchAndPostInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return poster.MatchAndPostAsync(input, CancellationToken.None);
    }
}

/// <summary>Records late, done or failed for a batch.</summary>
public sealed class RecordBatchStatusActivity(BatchStore batches, IPipelineMetrics metrics) : TaskActivity<BatchStatusUpdate, bool>
{
    public override async Task<bool> RunAsync(TaskActivityContext context, BatchStatusUpdate input)
    {
        ArgumentNullException.ThrowIfNull(input);
        await batches.ApplyAsync(input).ConfigureAwait(false);
        metrics.BatchStatus(input);
        return true;
    }
}

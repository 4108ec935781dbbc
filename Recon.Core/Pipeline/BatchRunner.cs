using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using Recon.Core.Ingestion;
using Recon.Core.Persistence;
using Recon.Core.RateLimiting;

namespace Recon.Core.Pipeline;

/// <summary>The input of <see cref="RunBatchActivity"/>: a batch, and whether the dispatcher's round already took its
/// provider token (then the first call is made at once).</summary>
public sealed record RunBatch(BatchWork Work, bool TokenGranted);

/// <summary>
/// The steps of one batch, each an idempotent unit of I/O: begin, take a token, fetch the page (10 s timeout), enqueue
/// the next page, match and post in one transaction, record the status. <see cref="BatchSteps"/> is the product's;
/// tests give their own to drive <see cref="BatchRunner"/>'s rules.
/// </summary>
public interface IBatchSteps
{
    /// <summary>Marks the batch running; says whether an earlier run already finished it.</summary>
    Task<BeginBatchResult> BeginAsync(BeginBatch input, CancellationToken cancellationToken);

    /// <summary>Asks the token bucket; a refusal comes back as a wait, never as a sleep.</summary>
    Task<TokenGrant> AcquireAsync(TokenRequest input, CancellationToken cancellationToken);

    /// <summary>One provider call with the 10 s timeout; 429 and "data changed" come back in the result, anything else throws.</summary>
    Task<FetchedPage> FetchAsync(FetchPage input, CancellationToken cancellationToken);

    /// <summary>Records and queues batches (idempotent on batch id); returns how many were new.</summary>
    Task<int> EnqueueAsync(IReadOnlyList<BatchWork> batches, CancellationToken cancellationToken);

    /// <summary>Matches and posts the page in one transaction, idempotent on (provider, provider id).</summary>
    Task<PostSummary> PostAsync(MatchAndPostInput input, CancellationToken cancellationToken);

    /// <summary>Records late, done or failed.</summary>
    Task RecordAsync(BatchStatusUpdate update, CancellationToken cancellationToken);
}

/// <summary>
/// One batch, start to finish, inside its 30 s window — the unit the dispatcher fans out as one activity
/// (<see cref="RunBatchActivity"/>) instead of an orchestration of six. Token and 429 waits are served here to the
/// millisecond (a durable timer would round them to whole seconds); fetch and post are retried after 1 s and 2 s; a batch
/// over its window is marked late when the window ends and goes on to finish.
/// </summary>
/// <remarks>
/// Safe to run twice (a redelivered activity after a crash, or a revival): begin refuses a finished batch, the next page's
/// batch id is deterministic, and posting is idempotent. Time comes from <see cref="TimeProvider"/> so tests can drive it.
/// </remarks>
public sealed class BatchRunner(IBatchSteps steps, TimeProvider time, ILogger<BatchRunner>? logger = null)
{
    public async Task<BatchOutcome> RunAsync(RunBatch input, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        var work = input.Work;
        var started = time.GetUtcNow().UtcDateTime;
        var begin = await steps.BeginAsync(new BeginBatch(work.BatchId, started), cancellationToken).ConfigureAwait(false);
        if (begin.AlreadyFinished)
        {
            return new BatchOutcome(work.BatchId, begin.Status, Late: false, Duplicate: true, NextBatchId: null, Summary: null);
        }

        var window = new LateMark(steps, work.BatchId, time, logger);
        using var windowTimer = time.CreateTimer(static s => ((LateMark)s!).Fire(), window, PipelineLimits.BatchWindow, Timeout.InfiniteTimeSpan);
        var tokenWaits = 0;
        var throttled = 0;
        try
        {
            var endpoint = ProviderEndpoints.ListEndpoint(work.Page.Provider);
            var haveToken = input.TokenGranted;
            FetchedPage? page = null;
            // bounded: every pass either fetches a page or serves one of at most MaxTokenWaits waits
            for (var pass = 0; pass <= PipelineLimits.MaxTokenWaits + 1 && page is null; pass++)
            {
                if (!haveToken)
                {
                    var grant = await steps.AcquireAsync(new TokenRequest(work.Page.Provider, endpoint, work.Page.Account, 1), cancellationToken).ConfigureAwait(false);
                    if (!grant.Granted)
                    {
                        tokenWaits++;
                        EnsureWaitsLeft(work, tokenWaits + throttled);
                        await DelayAsync(grant.RetryAfterMs, cancellationToken).ConfigureAwait(false);
                        continue;
                    }
                }
                haveToken = false; // a token pays for one call
                var fetched = await FetchWithRetryAsync(work, cancellationToken).ConfigureAwait(false);
                if (!fetched.Throttled)
                {
                    page = fetched;
                    break;
                }
                throttled++;
                EnsureWaitsLeft(work, tokenWaits + throttled);
                await DelayAsync(fetched.RetryAfterMs, cancellationToken).ConfigureAwait(false);
            }
            if (page is null)
            {
                throw new BatchFailedException($"Batch {work.BatchId}: no page after {PipelineLimits.MaxTokenWaits} waits.");
            }

            if (page.ChainChanged)
            {
                // Plaid: the data changed while the chain paged through it; the pages before this one may be stale, so the
                // chain starts again from its first cursor as the next generation (posting is idempotent on provider id)
                if (work.Generation >= PipelineLimits.MaxChainRestarts)
                {
                    throw new BatchFailedException($"Batch {work.BatchId}: {work.Page.Provider} data kept changing during pagination; chain restarted {work.Generation} times.");
                }
                var restart = BatchIds.RestartChain(work);
                await steps.EnqueueAsync([restart], cancellationToken).ConfigureAwait(false);
                var restartedLate = await window.StopAsync().ConfigureAwait(false);
                await steps.RecordAsync(new BatchStatusUpdate(work.BatchId, BatchStatuses.Done, Now(),
                    $"data changed during pagination: chain restarted from its first cursor as {restart.BatchId}", tokenWaits, throttled, null, work.Priority, started, restartedLate),
                    cancellationToken).ConfigureAwait(false);
                return new BatchOutcome(work.BatchId, BatchStatuses.Done, restartedLate, Duplicate: false, restart.BatchId, Summary: null);
            }

            string? next = null;
            if (page.HasMore)
            {
                if (string.IsNullOrEmpty(page.NextCursor))
                {
                    throw new InvalidOperationException($"Batch {work.BatchId}: {work.Page.Provider} said has_more without a next cursor.");
                }
                // enqueue the follow-up before posting: if this batch then fails, the next page is still processed
                var followUp = BatchIds.FollowUp(work, page.NextCursor);
                next = followUp.BatchId;
                await steps.EnqueueAsync([followUp], cancellationToken).ConfigureAwait(false);
            }

            var summary = await PostWithRetryAsync(new MatchAndPostInput(work.BatchId, work.Page, page.TransactionIds), cancellationToken).ConfigureAwait(false);
            var late = await window.StopAsync().ConfigureAwait(false);
            await steps.RecordAsync(new BatchStatusUpdate(work.BatchId, BatchStatuses.Done, Now(), null, tokenWaits, throttled, summary, work.Priority, started, late),
                cancellationToken).ConfigureAwait(false);
            return new BatchOutcome(work.BatchId, BatchStatuses.Done, late, Duplicate: false, next, summary);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            var late = await window.StopAsync().ConfigureAwait(false);
            var error = ex is StepFailedException step ? step.Message : $"{ex.GetType().Name}: {ex.Message}";
            logger?.LogWarning("Batch {BatchId} failed: {Error}", work.BatchId, error);
            await steps.RecordAsync(new BatchStatusUpdate(work.BatchId, BatchStatuses.Failed, Now(), error, tokenWaits, throttled, null, work.Priority, started, late),
                cancellationToken).ConfigureAwait(false);
            return new BatchOutcome(work.BatchId, BatchStatuses.Failed, late, Duplicate: false, NextBatchId: null, Summary: null);
        }
    }

    private DateTime Now() => time.GetUtcNow().UtcDateTime;

    /// <summary>Waits what the bucket or the provider named, to the millisecond, at most <see cref="PipelineLimits.MaxTokenWaitSeconds"/>.</summary>
    private Task DelayAsync(long milliseconds, CancellationToken cancellationToken)
        => Task.Delay(TimeSpan.FromMilliseconds(Math.Clamp(milliseconds, 1, PipelineLimits.MaxTokenWaitSeconds * 1000L)), time, cancellationToken);

    private async Task<FetchedPage> FetchWithRetryAsync(BatchWork work, CancellationToken cancellationToken)
    {
        var backoffSeconds = PipelineLimits.FetchBackoffSeconds;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await steps.FetchAsync(new FetchPage(work.BatchId, work.Page), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                if (attempt >= PipelineLimits.MaxFetchAttempts)
                {
                    throw new StepFailedException("fetch", attempt, ex);
                }
                await Task.Delay(TimeSpan.FromSeconds(backoffSeconds), time, cancellationToken).ConfigureAwait(false);
                backoffSeconds *= 2;
            }
        }
    }

    /// <summary>Match and post, retried after a back-off when it fails (a database timeout under load, a dropped
    /// connection): the posting transaction rolled back, and posting is idempotent.</summary>
    private async Task<PostSummary> PostWithRetryAsync(MatchAndPostInput post, CancellationToken cancellationToken)
    {
        var backoffSeconds = PipelineLimits.FetchBackoffSeconds;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await steps.PostAsync(post, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                if (attempt >= PipelineLimits.MaxPostAttempts)
                {
                    throw new StepFailedException("post", attempt, ex);
                }
                await Task.Delay(TimeSpan.FromSeconds(backoffSeconds), time, cancellationToken).ConfigureAwait(false);
                backoffSeconds *= 2;
            }
        }
    }

    private static void EnsureWaitsLeft(BatchWork work, int waits)
    {
        if (waits > PipelineLimits.MaxTokenWaits)
        {
            throw new BatchFailedException($"Batch {work.BatchId}: no {work.Page.Provider} token after {PipelineLimits.MaxTokenWaits} waits.");
        }
    }

    /// <summary>The window's end: marks the batch late once (recorded while it goes on), and tells the end whether it did.</summary>
    private sealed class LateMark(IBatchSteps steps, string batchId, TimeProvider time, ILogger? logger)
    {
        private readonly Lock _gate = new();
        private bool _stopped;
        private Task? _recorded;

        public void Fire()
        {
            lock (_gate)
            {
                if (_stopped || _recorded is not null)
                {
                    return;
                }
                _recorded = RecordAsync();
            }
        }

        /// <summary>Stops the window; true when it had already ended (the batch is late). Waits for the late mark to be
        /// written, so it never lands after the final status.</summary>
        public async Task<bool> StopAsync()
        {
            Task? recorded;
            lock (_gate)
            {
                _stopped = true;
                recorded = _recorded;
            }
            if (recorded is null)
            {
                return false;
            }
            await recorded.ConfigureAwait(false);
            return true;
        }

        private async Task RecordAsync()
        {
            try
            {
                await steps.RecordAsync(new BatchStatusUpdate(batchId, BatchStatuses.Late, time.GetUtcNow().UtcDateTime), CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                // the final status still says late = true; only the intermediate mark is lost
                logger?.LogWarning(ex, "Could not mark batch {BatchId} late", batchId);
            }
        }
    }
}

/// <summary>A step that kept failing after its retries; its message names the step, the attempts and the last error.</summary>
public sealed class StepFailedException(string step, int attempts, Exception inner)
    : Exception($"{step}: {inner.GetType().Name}: {inner.Message} (after {attempts} attempts)", inner);

/// <summary>A batch cannot go on (its limits are exhausted); recorded as failed with this message.</summary>
public sealed class BatchFailedException(string message) : Exception(message);

/// <summary>The provider endpoint a page fetch calls, as the rate limiter names it.</summary>
public static class ProviderEndpoints
{
    /// <summary>The names the fetchers use, so per-endpoint buckets and telemetry agree.</summary>
    public static string ListEndpoint(string provider) => provider switch
    {
        Domain.Providers.Stripe => Ingestion.Stripe.StripePageFetcher.BalanceTransactionsEndpoint,
        Domain.Providers.Plaid => Ingestion.Plaid.PlaidPageFetcher.SyncEndpoint,
        _ => "statements",
    };
}

/// <summary>One batch as one activity: <see cref="BatchRunner"/> over the product's <see cref="BatchSteps"/>. The host
/// supplies <see cref="IBatchStarter"/> (the follow-up page's enqueue signals the dispatcher through it).</summary>
public sealed class RunBatchActivity(BatchStore batches, IProviderRateLimiter limiter, IEnumerable<IProviderPageFetcher> fetchers, IPageStore pages,
    IBatchPoster poster, IBatchQueue queue, IBatchStarter starter, IPipelineMetrics metrics, ILoggerFactory loggers) : TaskActivity<RunBatch, BatchOutcome>
{
    public override Task<BatchOutcome> RunAsync(TaskActivityContext context, RunBatch input)
    {
        var enqueuer = new BatchEnqueuer(batches, queue, starter, loggers.CreateLogger<BatchEnqueuer>());
        var steps = new BatchSteps(batches, limiter, fetchers, pages, poster, enqueuer, metrics);
        return new BatchRunner(steps, TimeProvider.System, loggers.CreateLogger<BatchRunner>()).RunAsync(input, CancellationToken.None);
    }
}

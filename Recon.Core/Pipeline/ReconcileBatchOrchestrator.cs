using Microsoft.DurableTask;
using Recon.Core.Ingestion;

namespace Recon.Core.Pipeline;

/// <summary>
/// One batch, inside a 30 s window: take tokens (waiting on a durable timer when refused), fetch the page (10 s
/// timeout inside the activity, retried with back-off), enqueue the next page, match and post in one transaction.
/// </summary>
/// <remarks>
/// The instance id is the batch id, so a duplicate message cannot start a second instance; a duplicate that arrives
/// after the first finished finds the batch done (<see cref="BeginBatchActivity"/>) and posts nothing. A batch over
/// its window is marked late when the window timer fires, and goes on to finish. All I/O is in activities; time
/// comes from the context only.
/// </remarks>
public sealed class ReconcileBatchOrchestrator : TaskOrchestrator<BatchWork, BatchOutcome>
{
    public override async Task<BatchOutcome> RunAsync(TaskOrchestrationContext context, BatchWork input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var started = context.CurrentUtcDateTime;
        var begin = await context.CallActivityAsync<BeginBatchResult>(nameof(BeginBatchActivity), new BeginBatch(input.BatchId, started));
        if (begin.AlreadyFinished)
        {
            return new BatchOutcome(input.BatchId, begin.Status, Late: false, Duplicate: true, NextBatchId: null, Summary: null);
        }

        using var windowCancel = new CancellationTokenSource();
        var window = context.CreateTimer(started + PipelineLimits.BatchWindow, windowCancel.Token);
        var late = false;
        var tokenWaits = 0;
        var throttled = 0;

        // Awaits a step; if the window runs out first, marks the batch late (once) and keeps waiting for the step.
        async Task<T> Step<T>(Task<T> step)
        {
            if (!late && await Task.WhenAny(step, window) == window && !step.IsCompleted)
            {
                late = true;
                await context.CallActivityAsync(nameof(RecordBatchStatusActivity),
                    new BatchStatusUpdate(input.BatchId, BatchStatuses.Late, context.CurrentUtcDateTime));
            }
            return await step;
        }

        Task<bool> Wait(long milliseconds)
            => Step(WaitTimer(context, PipelineLimits.WholeSecondsAtLeastOne(milliseconds)));

        try
        {
            var endpoint = ProviderEndpoints.ListEndpoint(input.Page.Provider);
            FetchedPage? page = null;
            // bounded: every pass either fetches a page or serves one of at most MaxTokenWaits waits
            for (var pass = 0; pass <= PipelineLimits.MaxTokenWaits + 1 && page is null; pass++)
            {
                var grant = await Step(context.CallActivityAsync<TokenGrant>(nameof(AcquireTokensActivity),
                    new TokenRequest(input.Page.Provider, endpoint, input.Page.Account, 1)));
                if (!grant.Granted)
                {
                    tokenWaits++;
                    EnsureWaitsLeft(input, tokenWaits + throttled);
                    await Wait(grant.RetryAfterMs);
                    continue;
                }
                var fetched = await FetchWithRetry(context, input, Step);
                if (!fetched.Throttled)
                {
                    page = fetched;
                    break;
                }
                throttled++;
                EnsureWaitsLeft(input, tokenWaits + throttled);
                await Wait(fetched.RetryAfterMs);
            }
            if (page is null)
            {
                throw new BatchFailedException($"Batch {input.BatchId}: no page after {PipelineLimits.MaxTokenWaits} waits.");
            }

            if (page.ChainChanged)
            {
                // Plaid: the data changed while the chain paged through it; the pages before this one may be stale, so the
                // chain starts again from its first cursor as the next generation (posting is idempotent on provider id)
                if (input.Generation >= PipelineLimits.MaxChainRestarts)
                {
                    throw new BatchFailedException($"Batch {input.BatchId}: {input.Page.Provider} data kept changing during pagination; chain restarted {input.Generation} times.");
                }
                var restart = BatchIds.RestartChain(input);
                await Step(context.CallActivityAsync<int>(nameof(EnqueueBatchesActivity), new[] { restart }));
                windowCancel.Cancel();
                await context.CallActivityAsync(nameof(RecordBatchStatusActivity),
                    new BatchStatusUpdate(input.BatchId, BatchStatuses.Done, context.CurrentUtcDateTime,
                        $"data changed during pagination: chain restarted from its first cursor as {restart.BatchId}", tokenWaits, throttled, null, input.Priority, started, late));
                return new BatchOutcome(input.BatchId, BatchStatuses.Done, late, Duplicate: false, restart.BatchId, Summary: null);
            }

            string? next = null;
            if (page.HasMore)
            {
                if (string.IsNullOrEmpty(page.NextCursor))
                {
                    throw new InvalidOperationException($"Batch {input.BatchId}: {input.Page.Provider} said has_more without a next cursor.");
                }
                // enqueue the follow-up before posting: if this batch then fails, the next page is still processed
                var followUp = BatchIds.FollowUp(input, page.NextCursor);
                next = followUp.BatchId;
                await Step(context.CallActivityAsync<int>(nameof(EnqueueBatchesActivity), new[] { followUp }));
            }

            var summary = await Step(PostWithRetry(context, new MatchAndPostInput(input.BatchId, input.Page, page.TransactionIds)));

            windowCancel.Cancel();
            await context.CallActivityAsync(nameof(RecordBatchStatusActivity),
                new BatchStatusUpdate(input.BatchId, BatchStatuses.Done, context.CurrentUtcDateTime, null, tokenWaits, throttled, summary, input.Priority, started, late));
            return new BatchOutcome(input.BatchId, BatchStatuses.Done, late, Duplicate: false, next, summary);
        }
        catch (Exception ex)
        {
            windowCancel.Cancel();
            var error = ex is TaskFailedException tf ? $"{tf.TaskName}: {tf.FailureDetails.ErrorType}: {tf.FailureDetails.ErrorMessage}" : ex.Message;
            await context.CallActivityAsync(nameof(RecordBatchStatusActivity),
                new BatchStatusUpdate(input.BatchId, BatchStatuses.Failed, context.CurrentUtcDateTime, error, tokenWaits, throttled, null, input.Priority, started, late));
            throw;
        }
    }

    private static async Task<FetchedPage> FetchWithRetry(TaskOrchestrationContext context, BatchWork input, Func<Task<FetchedPage>, Task<FetchedPage>> step)
    {
        // Retried here rather than by a RetryPolicy so each attempt is a separate activity message (any worker may take
        // it) and the back-off is an explicit whole-second durable timer.
        var backoffSeconds = PipelineLimits.FetchBackoffSeconds;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await step(context.CallActivityAsync<FetchedPage>(nameof(FetchProviderPageActivity), new FetchPage(input.BatchId, input.Page)));
            }
            catch (TaskFailedException) when (attempt < PipelineLimits.MaxFetchAttempts)
            {
                await WaitTimer(context, TimeSpan.FromSeconds(backoffSeconds));
                backoffSeconds *= 2;
            }
        }
    }

    /// <summary>Match and post, retried after a whole-second back-off when the activity fails (a database timeout
    /// under load, a dropped connection): the posting transaction rolled back, and posting is idempotent.</summary>
    private static async Task<PostSummary> PostWithRetry(TaskOrchestrationContext context, MatchAndPostInput post)
    {
        var backoffSeconds = PipelineLimits.FetchBackoffSeconds;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await context.CallActivityAsync<PostSummary>(nameof(MatchAndPostActivity), post);
            }
            catch (TaskFailedException) when (attempt < PipelineLimits.MaxPostAttempts)
            {
                await WaitTimer(context, TimeSpan.FromSeconds(backoffSeconds));
                backoffSeconds *= 2;
            }
        }
    }

    private static async Task<bool> WaitTimer(TaskOrchestrationContext context, TimeSpan delay)
    {
        await context.CreateTimer(context.CurrentUtcDateTime.Add(delay), CancellationToken.None);
        return true;
    }

    private static void EnsureWaitsLeft(BatchWork input, int waits)
    {
        if (waits > PipelineLimits.MaxTokenWaits)
        {
            throw new BatchFailedException($"Batch {input.BatchId}: no {input.Page.Provider} token after {PipelineLimits.MaxTokenWaits} waits.");
        }
    }
}

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

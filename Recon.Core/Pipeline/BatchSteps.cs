using Microsoft.Extensions.Logging;
using Recon.Core.Ingestion;
using Recon.Core.Persistence;
using Recon.Core.RateLimiting;
using Recon.Core.Telemetry;

namespace Recon.Core.Pipeline;

/// <summary>
/// The product's steps of a batch (<see cref="IBatchSteps"/>): PostgreSQL through the bulkhead, the Redis token bucket,
/// the provider fetchers with the 10 s call timeout, the priority queues. Each step is idempotent.
/// </summary>
public sealed class BatchSteps(BatchStore batches, IProviderRateLimiter limiter, IEnumerable<IProviderPageFetcher> fetchers, IPageStore pages,
    IBatchPoster poster, BatchEnqueuer enqueuer, IPipelineMetrics metrics) : IBatchSteps
{
    /// <inheritdoc />
    public async Task<BeginBatchResult> BeginAsync(BeginBatch input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        var status = await batches.BeginAsync(input.BatchId, input.StartedAtUtc, cancellationToken).ConfigureAwait(false);
        return new BeginBatchResult(status is BatchStatuses.Done or BatchStatuses.Failed, status);
    }

    /// <inheritdoc />
    public async Task<TokenGrant> AcquireAsync(TokenRequest input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        var decision = await limiter.TryAcquireAsync(input.Provider, input.Endpoint, input.Scope, input.Tokens, cancellationToken).ConfigureAwait(false);
        if (!decision.Granted)
        {
            ReconMetrics.RecordTokenWait(input.Provider, decision.RetryAfter);
        }
        return new TokenGrant(decision.Granted, decision.Granted ? 0 : (long)Math.Ceiling(decision.RetryAfter.TotalMilliseconds));
    }

    /// <summary>One provider call with a 10 s timeout, its page stored before the answer returns; a 429 returns as
    /// "throttled", Plaid's "data changed during pagination" as <see cref="FetchedPage.ChainChanged"/>, a timeout as
    /// <see cref="TimeoutException"/> naming the provider, anything else as it came.</summary>
    public async Task<FetchedPage> FetchAsync(FetchPage input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        var fetcher = fetchers.FirstOrDefault(f => f.Provider == input.Page.Provider)
            ?? throw new InvalidOperationException($"No page fetcher for provider '{input.Page.Provider}': set its {ProviderOptions.SectionName} settings (see README, Provider sandboxes).");
        await batches.RecordFetchAttemptAsync(input.BatchId, cancellationToken).ConfigureAwait(false);
        var endpoint = ProviderEndpoints.ListEndpoint(input.Page.Provider);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        ProviderPage page;
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            timeout.CancelAfter(PipelineLimits.ProviderCallTimeout);
            try
            {
                page = await fetcher.FetchPageAsync(input.Page, timeout.Token).ConfigureAwait(false);
                ReconMetrics.RecordProviderCall(input.Page.Provider, endpoint, 200, clock.Elapsed);
            }
            catch (ProviderThrottledException ex)
            {
                ReconMetrics.RecordProviderCall(input.Page.Provider, endpoint, 429, clock.Elapsed);
                await batches.RecordErrorAsync(input.BatchId, ex.Message, cancellationToken).ConfigureAwait(false);
                return FetchedPage.ThrottledFor(ex.RetryAfter);
            }
            catch (Ingestion.Plaid.PlaidSyncMutationException ex)
            {
                // not a failure of this call: the chain's earlier pages are stale, and Plaid asks for pagination to restart
                ReconMetrics.RecordProviderCall(input.Page.Provider, endpoint, 400, clock.Elapsed);
                await batches.RecordErrorAsync(input.BatchId, ex.Message, cancellationToken).ConfigureAwait(false);
                return FetchedPage.ChangedDuringPagination();
            }
            catch (Exception ex) when (ex is ProviderTimeoutException
                || (ex is OperationCanceledException && timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested))
            {
                ReconMetrics.RecordProviderCall(input.Page.Provider, endpoint, 0, clock.Elapsed);
                var message = $"{input.Page.Provider} did not answer within {PipelineLimits.ProviderCallTimeout.TotalSeconds:0} s";
                await batches.RecordErrorAsync(input.BatchId, message, cancellationToken).ConfigureAwait(false);
                throw new TimeoutException(message, ex);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                ReconMetrics.RecordProviderCall(input.Page.Provider, endpoint, 0, clock.Elapsed);
                await batches.RecordErrorAsync(input.BatchId, $"{ex.GetType().Name}: {ex.Message}", cancellationToken).ConfigureAwait(false);
                throw;
            }
        }
        await pages.StoreAsync(input.BatchId, page, cancellationToken).ConfigureAwait(false);
        return new FetchedPage(false, 0, page.Transactions.Select(t => t.ProviderTxId).ToList(), page.RemovedIds, page.NextCursor, page.HasMore);
    }

    /// <inheritdoc />
    public Task<int> EnqueueAsync(IReadOnlyList<BatchWork> batches, CancellationToken cancellationToken)
        => enqueuer.EnqueueAsync(batches, cancellationToken);

    /// <inheritdoc />
    public Task<PostSummary> PostAsync(MatchAndPostInput input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        return poster.MatchAndPostAsync(input, cancellationToken);
    }

    /// <inheritdoc />
    public async Task RecordAsync(BatchStatusUpdate update, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(update);
        await batches.ApplyAsync(update, cancellationToken).ConfigureAwait(false);
        metrics.BatchStatus(update);
    }
}

/// <summary>Records batches as queued and puts those still queued on recon-high / recon-low, then signals the
/// dispatcher (idempotent: a batch already running or finished is not enqueued again; a repeated message is absorbed
/// by the dispatcher's status check).</summary>
public sealed class BatchEnqueuer(BatchStore batches, IBatchQueue queue, IBatchStarter starter, ILogger<BatchEnqueuer> logger)
{
    public async Task<int> EnqueueAsync(IReadOnlyList<BatchWork> input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        var toEnqueue = await batches.InsertQueuedAsync(input, cancellationToken).ConfigureAwait(false);
        foreach (var batch in toEnqueue)
        {
            await queue.EnqueueAsync(batch, cancellationToken).ConfigureAwait(false);
        }
        if (toEnqueue.Count > 0)
        {
            try
            {
                // after the messages are on the queue: a dispatcher woken by this finds them
                await starter.NotifyDispatcherAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // the work is queued either way: the dispatcher finds it at its next look (IdleWaitSeconds at most)
                logger.LogWarning(ex, "Could not signal the dispatcher after queueing {Count} batches; it finds them at its next look", toEnqueue.Count);
            }
        }
        return toEnqueue.Count;
    }
}

using Npgsql;
using Recon.Core.Domain;
using Recon.Core.Persistence;

namespace Recon.Core.Ingestion.Plaid;

/// <summary>
/// Syncs one Plaid item to the end: each page's rows, removals and next cursor commit in one database transaction,
/// so a crash resumes exactly where the last commit left off. TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION restarts
/// from the loop's first cursor (re-applying pages is idempotent); a 429 surfaces as <see cref="ProviderThrottledException"/>.
/// </summary>
public sealed class PlaidSyncLoop(IProviderPageFetcher fetcher, NpgsqlDataSource dataSource)
{
    /// <summary>Plaid's maximum page: fewest calls against its per-item limit.</summary>
    public const int PageSize = 500;

    /// <summary>Restarts after mutation errors before giving up: data that keeps changing under every pass is an incident, not a loop.</summary>
    public const int MaxMutationRestarts = 5;

    /// <summary>Bound on pages per run (500 × 10,000 = 5 million changes), so a cursor that never ends cannot loop forever.</summary>
    public const int MaxPagesPerRun = 10_000;

    /// <summary>Syncs until <c>has_more</c> is false. Returns what was applied.</summary>
    /// <param name="accessToken">The item's access token (the fetcher's account).</param>
    /// <param name="cursorKey">Key of the stored cursor (the item id; never the token itself).</param>
    /// <param name="cancellationToken">Stops the loop between or during calls.</param>
    public async Task<PlaidSyncResult> RunAsync(string accessToken, string cursorKey, CancellationToken cancellationToken)
    {
        string? firstCursor;
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false))
        {
            firstCursor = await ProviderTransactionStore.GetCursorAsync(connection, null, Providers.Plaid, cursorKey, cancellationToken).ConfigureAwait(false);
        }
        var cursor = firstCursor;
        int pages = 0, upserted = 0, removed = 0, restarts = 0;
        while (true)
        {
            if (++pages > MaxPagesPerRun)
            {
                throw new InvalidOperationException($"Plaid sync of {cursorKey} did not end within {MaxPagesPerRun} pages");
            }
            ProviderPage page;
            try
            {
                page = await fetcher.FetchPageAsync(new PageRequest(Providers.Plaid, accessToken, DateOnly.MinValue, DateOnly.MaxValue, cursor, PageSize), cancellationToken).ConfigureAwait(false);
            }
            catch (PlaidSyncMutationException) when (restarts < MaxMutationRestarts)
            {
                restarts++;
                cursor = firstCursor;
                continue;
            }
            await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false))
            await using (var tx = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false))
            {
                upserted += await ProviderTransactionStore.UpsertAsync(connection, tx, page.Transactions, null, cancellationToken).ConfigureAwait(false);
                removed += await ProviderTransactionStore.RetireAsync(connection, tx, Providers.Plaid, page.RemovedIds, cancellationToken).ConfigureAwait(false);
                if (page.NextCursor is not null)
                {
                    await ProviderTransactionStore.SetCursorAsync(connection, tx, Providers.Plaid, cursorKey, page.NextCursor, cancellationToken).ConfigureAwait(false);
                }
                await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
            cursor = page.NextCursor;
            if (!page.HasMore)
            {
                return new PlaidSyncResult(pages, upserted, removed, restarts, cursor);
            }
        }
    }

    /// <summary>Runs <see cref="RunAsync"/>, waiting out 429s (Retry-After, via <paramref name="time"/>) at most
    /// <paramref name="maxThrottledAttempts"/> times; the next attempt resumes from the stored cursor.</summary>
    public async Task<PlaidSyncResult> RunWaitingOutThrottlesAsync(string accessToken, string cursorKey, int maxThrottledAttempts, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(time);
        var throttled = 0;
        while (true)
        {
            try
            {
                var result = await RunAsync(accessToken, cursorKey, cancellationToken).ConfigureAwait(false);
                return result with { Throttled = throttled };
            }
            catch (ProviderThrottledException ex) when (throttled < maxThrottledAttempts)
            {
                throttled++;
                await Task.Delay(ex.RetryAfter, time, cancellationToken).ConfigureAwait(false);
            }
        }
    }
}

/// <summary>What one sync run did.</summary>
public sealed record PlaidSyncResult(int Pages, int Upserted, int Removed, int MutationRestarts, string? Cursor, int Throttled = 0);

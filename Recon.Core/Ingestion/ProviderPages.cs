using Recon.Core.Domain;

namespace Recon.Core.Ingestion;

/// <summary>What one batch fetches: one page of one provider account, for a date range, from a cursor.</summary>
/// <param name="Provider">One of <see cref="Providers"/>.</param>
/// <param name="Account">The account (Stripe account, Plaid item/account, bank account).</param>
/// <param name="From">First value date, inclusive.</param>
/// <param name="To">Last value date, inclusive.</param>
/// <param name="Cursor">Where the page starts (Stripe <c>starting_after</c>, Plaid cursor); null for the first page.</param>
/// <param name="PageSize">Objects per page (Stripe at most 100, Plaid at most 500).</param>
public sealed record PageRequest(string Provider, string Account, DateOnly From, DateOnly To, string? Cursor, int PageSize);

/// <summary>One page as the provider answered it, in canonical form.</summary>
/// <param name="Transactions">Added or modified transactions.</param>
/// <param name="RemovedIds">Provider ids the provider withdrew (Plaid <c>removed</c>).</param>
/// <param name="NextCursor">Cursor of the next page; null when there is none.</param>
/// <param name="HasMore">True when another page follows.</param>
public sealed record ProviderPage(
    IReadOnlyList<ProviderTransaction> Transactions,
    IReadOnlyList<string> RemovedIds,
    string? NextCursor,
    bool HasMore)
{
    /// <summary>The booked balances of the bank statements on this page (banks only; empty for Stripe and Plaid): what
    /// the balance proof compares the ledger with.</summary>
    public IReadOnlyList<StatementDayBalance> Balances { get; init; } = [];
}

/// <summary>One bank statement's booked balances for one account and day, in the statement currency, signed minor units.</summary>
/// <param name="Provider">The bank (<see cref="Providers.BankA"/>, <see cref="Providers.BankB"/>).</param>
/// <param name="Account">The account as the bank wrote it (the provider transactions' account).</param>
/// <param name="Day">The statement day (BAI2 as-of date, camt closing-balance date).</param>
/// <param name="Currency">ISO 4217 code of the account.</param>
/// <param name="OpeningMinor">Opening booked balance; null when the file has none.</param>
/// <param name="ClosingMinor">Closing booked balance.</param>
/// <param name="StatementId">The statement's id in its file, when it has one.</param>
public sealed record StatementDayBalance(string Provider, string Account, DateOnly Day, string Currency, long? OpeningMinor, long ClosingMinor, string? StatementId);

/// <summary>Fetches one page from one provider. Implementations make exactly one logical provider call per page,
/// give it a timeout (10 s), and report a 429 as <see cref="ProviderThrottledException"/> after pausing the
/// provider's bucket; they never sleep to wait for a rate limit.</summary>
public interface IProviderPageFetcher
{
    /// <summary>The provider this fetcher serves (one of <see cref="Providers"/>).</summary>
    string Provider { get; }

    Task<ProviderPage> FetchPageAsync(PageRequest request, CancellationToken cancellationToken);
}

/// <summary>A provider answered 429. The caller waits <see cref="RetryAfter"/> (a durable timer) and tries again.</summary>
public sealed class ProviderThrottledException(string provider, TimeSpan retryAfter, string? detail = null)
    : Exception($"{provider} answered 429 Too Many Requests; retry after {retryAfter.TotalMilliseconds:0} ms{(detail is null ? "" : $": {detail}")}")
{
    public string Provider { get; } = provider;

    public TimeSpan RetryAfter { get; } = retryAfter;
}

/// <summary>A provider call did not answer within <see cref="ProviderCalls.ProviderCallTimeout"/>; the work is retried elsewhere.</summary>
public sealed class ProviderTimeoutException(string provider, string endpoint, TimeSpan timeout, Exception? inner = null)
    : TimeoutException($"{provider} {endpoint} did not answer within {timeout.TotalSeconds:0.#} s", inner)
{
    public string Provider { get; } = provider;

    public TimeSpan Timeout { get; } = timeout;
}

/// <summary>Limits every provider adapter keeps.</summary>
public static class ProviderCalls
{
    /// <summary>10 s: a provider call stuck longer is cancelled and its batch retried elsewhere (the design's rule), far
    /// below Stripe.net's own 80 s default so one hung call cannot eat a 30 s batch window.</summary>
    public static readonly TimeSpan ProviderCallTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Pause used when a 429 carries no Retry-After: providers' windows are one second long.</summary>
    public static readonly TimeSpan DefaultThrottlePause = TimeSpan.FromSeconds(1);
}

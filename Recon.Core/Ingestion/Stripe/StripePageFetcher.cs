using System.Net;
using Recon.Core.Domain;
using Recon.Core.RateLimiting;
using Stripe;

namespace Recon.Core.Ingestion.Stripe;

/// <summary>
/// Pages Stripe balance transactions through Stripe.net, one call per page. Stripe.net's own retries are off (they
/// would sleep inside the activity): a 429 pauses the provider's buckets for one window (Stripe sends no Retry-After;
/// <c>Stripe-Should-Retry</c> is honoured) and surfaces as <see cref="ProviderThrottledException"/>; every call gets
/// <see cref="StripeProviderOptions.CallTimeout"/>; 5xx surface as <see cref="StripeException"/>.
/// </summary>
public sealed class StripePageFetcher : IProviderPageFetcher
{
    /// <summary>The endpoint name the rate limiter's per-endpoint bucket uses.</summary>
    public const string BalanceTransactionsEndpoint = "balance_transactions";

    private readonly StripeClient _client;
    private readonly IProviderRateLimiter? _rateLimiter;
    private readonly TimeSpan _callTimeout;
    private long _throttled;

    /// <param name="options">API base and key.</param>
    /// <param name="httpClient">Shared (from IHttpClientFactory); its own timeout should not be shorter than the call timeout.</param>
    /// <param name="rateLimiter">Paused on a 429; null when nothing shares the provider's buckets.</param>
    public StripePageFetcher(StripeProviderOptions options, HttpClient httpClient, IProviderRateLimiter? rateLimiter)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.ApiKey))
        {
            throw new InvalidOperationException($"{ProviderOptions.SectionName}:Stripe:ApiKey is empty (env Recon__Providers__Stripe__ApiKey).");
        }
        _client = new StripeClient(new StripeClientOptions
        {
            ApiKey = options.ApiKey,
            ApiBase = options.ApiBase.TrimEnd('/'),
            HttpClient = new SystemNetHttpClient(httpClient, maxNetworkRetries: 0, appInfo: null, enableTelemetry: false),
        });
        _rateLimiter = rateLimiter;
        _callTimeout = options.CallTimeout;
    }

    public string Provider => Providers.Stripe;

    /// <summary>429s this fetcher has seen and handled (paused and surfaced).</summary>
    public long ThrottledCount => Interlocked.Read(ref _throttled);

    /// <summary>Balance transactions created from <see cref="PageRequest.From"/> to <see cref="PageRequest.To"/> (UTC days),
    /// newest first, after the cursor (the last id of the previous page).</summary>
    public Task<ProviderPage> FetchPageAsync(PageRequest request, CancellationToken cancellationToken)
        => FetchAsync(request, payoutId: null, cancellationToken);

    /// <summary>The balance transactions one automatic payout paid out: each gets the payout as its group id, which
    /// is how a fee-netted payout is matched against the charges it groups (Stripe's objects do not carry the link).</summary>
    public Task<ProviderPage> FetchPayoutPageAsync(PageRequest request, string payoutId, CancellationToken cancellationToken)
        => FetchAsync(request, payoutId, cancellationToken);

    private async Task<ProviderPage> FetchAsync(PageRequest request, string? payoutId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.PageSize is < 1 or > 100)
        {
            throw new ArgumentOutOfRangeException(nameof(request), request.PageSize, "Stripe pages hold 1 to 100 objects");
        }
        var options = new BalanceTransactionListOptions
        {
            Limit = request.PageSize,
            StartingAfter = request.Cursor,
            Payout = payoutId,
            Created = new DateRangeOptions
            {
                GreaterThanOrEqual = request.From.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc),
                LessThanOrEqual = request.To.ToDateTime(TimeOnly.MaxValue, DateTimeKind.Utc),
            },
        };
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_callTimeout);
        StripeList<BalanceTransaction> list;
        try
        {
            list = await _client.V1.BalanceTransactions.ListAsync(options, requestOptions: null, timeout.Token).ConfigureAwait(false);
        }
        catch (StripeException ex) when (ex.HttpStatusCode == HttpStatusCode.TooManyRequests)
        {
            // Stripe sends no Retry-After (its SDKs removed support for it): the wait is the bucket's own, one window of
            // Stripe's per-second limits. Stripe-Should-Retry: true marks a 429 that is not a rate limit (a lock
            // timeout on one object): the call may be repeated after the wait, but the provider is not paused for everyone.
            var wait = ProviderCalls.DefaultThrottlePause;
            Interlocked.Increment(ref _throttled);
            if (_rateLimiter is not null && ShouldRetry(ex) != true)
            {
                await _rateLimiter.PauseAsync(Providers.Stripe, wait, cancellationToken).ConfigureAwait(false);
            }
            throw new ProviderThrottledException(Providers.Stripe, wait, $"{ex.StripeError?.Code}: {ex.StripeError?.Message} (request {RequestId(ex)})");
        }
        catch (Exception ex) when (ex is OperationCanceledException or StripeException { InnerException: OperationCanceledException }
                                   && !cancellationToken.IsCancellationRequested)
        {
            throw new ProviderTimeoutException(Providers.Stripe, "GET /v1/balance_transactions", _callTimeout, ex);
        }
        var transactions = list.Data.Select(bt => Map(bt, request.Account, payoutId)).ToList();
        return new ProviderPage(transactions, [], list.HasMore && transactions.Count > 0 ? transactions[^1].ProviderTxId : null, list.HasMore);
    }

    /// <summary>Stripe's <c>Stripe-Should-Retry</c> answer header: true, false, or null when absent.</summary>
    public static bool? ShouldRetry(StripeException ex)
    {
        ArgumentNullException.ThrowIfNull(ex);
        return ex.StripeResponse?.Headers is { } h && h.TryGetValues("Stripe-Should-Retry", out var v)
            ? string.Equals(v.FirstOrDefault(), "true", StringComparison.OrdinalIgnoreCase)
            : null;
    }

    private static string? RequestId(StripeException ex)
        => ex.StripeResponse?.Headers is { } h && h.TryGetValues("Request-Id", out var v) ? v.FirstOrDefault() : null;

    /// <summary>Stripe's balance transaction in canonical form: minor units as Stripe sends them, currency upper-cased,
    /// created → booking date, available_on → value date, source → bank reference, description → end-to-end id and remittance, payout → group id.</summary>
    public static ProviderTransaction Map(BalanceTransaction bt, string account, string? payoutId)
    {
        ArgumentNullException.ThrowIfNull(bt);
        // Stripe reports fee refunds as negative fees; canonical fees are never negative, so fold them into the amount
        // and keep net (what moved) exact.
        var (amount, fee) = bt.Fee >= 0 ? (bt.Amount, bt.Fee) : (bt.Net, 0L);
        var groupId = payoutId ?? (bt.Type == "payout" ? bt.SourceId : null);
        return new ProviderTransaction(
            Providers.Stripe,
            bt.Id,
            account,
            amount,
            fee,
            Currency.Normalize(bt.Currency),
            DateOnly.FromDateTime(bt.Created.ToUniversalTime()),
            DateOnly.FromDateTime(bt.AvailableOn.ToUniversalTime()),
            bt.SourceId,
            // the merchant's own reference (an invoice or order number) travels in the description: it is what the
            // ledger books as its reference, so it is the end-to-end key the matcher compares (null when empty)
            string.IsNullOrWhiteSpace(bt.Description) ? null : bt.Description,
            bt.Description,
            groupId,
            ProviderTransactionStatus.Posted,
            bt.RawJsonElement is { ValueKind: System.Text.Json.JsonValueKind.Object } raw ? raw.GetRawText() : bt.ToJson());
    }
}

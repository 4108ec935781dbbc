using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Recon.Core.Domain;
using Recon.Core.Ingestion.Statements;
using Recon.Core.RateLimiting;

namespace Recon.Core.Ingestion.Banks;

/// <summary>
/// Fetches a bank's statement file for one account and day over HTTP and parses it with the statement parsers
/// (bank A BAI2, bank B camt.053). As a page fetcher, one page is one day: the cursor is the next date to fetch.
/// </summary>
public sealed class BankStatementFetcher(string provider, BankProviderOptions options, HttpClient httpClient, IProviderRateLimiter? rateLimiter) : IProviderPageFetcher
{
    public string Provider { get; } = provider is Providers.BankA or Providers.BankB ? provider : throw new ArgumentException($"not a bank provider: {provider}", nameof(provider));

    /// <summary>The statement file of <paramref name="account"/> for <paramref name="date"/>; null when the bank has none (404: no business that day).</summary>
    public async Task<BankStatementFile?> FetchStatementAsync(string account, DateOnly date, CancellationToken cancellationToken)
    {
        var url = $"{options.BaseUrl.TrimEnd('/')}/v1/accounts/{Uri.EscapeDataString(account)}/statements/{date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}";
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.CallTimeout);
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", options.ApiKey);
        string text;
        try
        {
            using var response = await httpClient.SendAsync(request, timeout.Token).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                return null;
            }
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                var pause = response.Headers.RetryAfter?.Delta ?? ProviderCalls.DefaultThrottlePause;
                if (rateLimiter is not null)
                {
                    await rateLimiter.PauseAsync(Provider, pause, cancellationToken).ConfigureAwait(false);
                }
                throw new ProviderThrottledException(Provider, pause);
            }
            text = await response.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                throw new HttpRequestException($"{Provider} GET {url} answered {(int)response.StatusCode}: {text.Trim()}", null, response.StatusCode);
            }
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ProviderTimeoutException(Provider, "GET statements", options.CallTimeout, ex);
        }
        return StatementParser.Parse(text, provider: Provider);
    }

    /// <summary>One day per page: <see cref="PageRequest.Cursor"/> (yyyy-MM-dd) or else <see cref="PageRequest.From"/>.</summary>
    public async Task<ProviderPage> FetchPageAsync(PageRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var day = request.Cursor is null ? request.From : DateOnly.ParseExact(request.Cursor, "yyyy-MM-dd", CultureInfo.InvariantCulture);
        var file = await FetchStatementAsync(request.Account, day, cancellationToken).ConfigureAwait(false);
        var transactions = file?.Statements.SelectMany(s => s.Transactions).ToList() ?? [];
        var hasMore = day < request.To;
        // a statement without a closing balance in its own currency proves nothing: it is not kept
        var balances = file?.Statements.Where(s => s.ClosingMinor is not null)
            .Select(s => new StatementDayBalance(Provider, s.Account, s.StatementDate ?? day, s.Currency, s.OpeningMinor, s.ClosingMinor!.Value, s.StatementId)).ToList() ?? [];
        return new ProviderPage(transactions, [], hasMore ? day.AddDays(1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) : null, hasMore) { Balances = balances };
    }
}

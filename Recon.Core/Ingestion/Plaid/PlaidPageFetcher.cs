using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Recon.Core.Domain;
using Recon.Core.Ingestion.Statements;
using Recon.Core.RateLimiting;

namespace Recon.Core.Ingestion.Plaid;

/// <summary>
/// One <c>POST /transactions/sync</c> call per page over plain HttpClient (Plaid's .NET SDKs are unofficial).
/// <see cref="PageRequest.Account"/> is the item's access token, <see cref="PageRequest.Cursor"/> Plaid's cursor.
/// </summary>
public sealed class PlaidPageFetcher(PlaidProviderOptions options, HttpClient httpClient, IProviderRateLimiter? rateLimiter) : IProviderPageFetcher
{
    /// <summary>Plaid caps <c>count</c> at 500.</summary>
    public const int MaxPageSize = 500;

    public const string SyncEndpoint = "transactions_sync";

    public string Provider => Providers.Plaid;

    public async Task<ProviderPage> FetchPageAsync(PageRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.PageSize is < 1 or > MaxPageSize)
        {
            throw new ArgumentOutOfRangeException(nameof(request), request.PageSize, $"Plaid pages hold 1 to {MaxPageSize} changes");
        }
        var body = new JsonObject
        {
            ["client_id"] = options.ClientId,
            ["secret"] = options.Secret,
            ["access_token"] = request.Account,
            ["count"] = request.PageSize,
        };
        if (!string.IsNullOrEmpty(request.Cursor))
        {
            body["cursor"] = request.Cursor;
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.CallTimeout);
        string text;
        HttpStatusCode status;
        try
        {
            using var content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
            using var response = await httpClient.PostAsync(options.BaseUrl.TrimEnd('/') + "/transactions/sync", content, timeout.Token).ConfigureAwait(false);
            status = response.StatusCode;
            text = await response.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ProviderTimeoutException(Providers.Plaid, "POST /transactions/sync", options.CallTimeout, ex);
        }
        if (status != HttpStatusCode.OK)
        {
            var error = ParseError(text);
            if (status == HttpStatusCode.TooManyRequests || error?.Type == "RATE_LIMIT_EXCEEDED")
            {
                // Plaid sends no Retry-After: RATE_LIMIT_EXCEEDED says only which limit; the wait is the bucket's own
                var pause = ProviderCalls.DefaultThrottlePause;
                if (rateLimiter is not null)
                {
                    await rateLimiter.PauseAsync(Providers.Plaid, pause, cancellationToken).ConfigureAwait(false);
                }
                throw new ProviderThrottledException(Providers.Plaid, pause, error?.Code);
            }
            if (error?.Code == PlaidApiException.MutationDuringPagination)
            {
                throw new PlaidSyncMutationException(error.Message);
            }
            throw new PlaidApiException((int)status, error?.Type, error?.Code, error?.Message ?? Truncate(text));
        }
        return ParsePage(text);
    }

    /// <summary>A sync response in canonical form: added and modified (in that order), removed ids, next cursor.</summary>
    public static ProviderPage ParsePage(string json)
    {
        var root = JsonNode.Parse(json) as JsonObject ?? throw new FormatException("Plaid /transactions/sync answered something other than a JSON object");
        var transactions = new List<ProviderTransaction>();
        foreach (var list in new[] { "added", "modified" })
        {
            foreach (var (node, i) in (root[list] as JsonArray ?? []).Select((n, i) => (n, i)))
            {
                transactions.Add(MapTransaction(node as JsonObject ?? throw new FormatException($"{list}[{i}] is not an object"), $"{list}[{i}]"));
            }
        }
        var removed = (root["removed"] as JsonArray ?? []).Select((n, i) => n?["transaction_id"]?.GetValue<string>() ?? throw new FormatException($"removed[{i}] has no transaction_id")).ToList();
        var hasMore = root["has_more"]?.GetValue<bool>() ?? throw new FormatException("has_more is missing");
        var next = root["next_cursor"]?.GetValue<string>() ?? throw new FormatException("next_cursor is missing");
        return new ProviderPage(transactions, removed, next, hasMore);
    }

    /// <summary>Plaid amounts are positive when money leaves the account; canonical amounts are credit positive, so the sign flips.
    /// The decimal is read from the JSON text itself, never through a double.</summary>
    public static ProviderTransaction MapTransaction(JsonObject t, string where)
    {
        string Req(string name) => t[name]?.GetValue<string>() ?? throw new FormatException($"{where}: {name} is missing");
        var id = Req("transaction_id");
        var currency = Currency.Normalize(t["iso_currency_code"]?.GetValue<string>() ?? t["unofficial_currency_code"]?.GetValue<string>()
            ?? throw new FormatException($"{where} ({id}): no iso_currency_code"));
        var amountNode = t["amount"] ?? throw new FormatException($"{where} ({id}): amount is missing");
        var amountText = amountNode.ToJsonString();
        var outflow = MinorUnits.TryParseDecimal(amountText.TrimStart('-'), currency, out var error)
            ?? throw new FormatException($"{where} ({id}): amount {amountText}: {error}");
        if (amountText.StartsWith('-'))
        {
            outflow = -outflow;
        }
        var date = DateOnly.ParseExact(Req("date"), "yyyy-MM-dd", CultureInfo.InvariantCulture);
        var authorized = t["authorized_date"]?.GetValue<string>() is { } a ? DateOnly.ParseExact(a, "yyyy-MM-dd", CultureInfo.InvariantCulture) : (DateOnly?)null;
        var pending = t["pending"]?.GetValue<bool>() ?? false;
        return new ProviderTransaction(
            Providers.Plaid,
            id,
            Req("account_id"),
            -outflow,
            0,
            currency,
            authorized ?? date,
            date,
            t["payment_meta"]?["reference_number"]?.GetValue<string>(),
            null,
            t["name"]?.GetValue<string>() ?? t["merchant_name"]?.GetValue<string>(),
            null,
            pending ? ProviderTransactionStatus.Pending : ProviderTransactionStatus.Posted,
            t.ToJsonString());
    }

    private static PlaidError? ParseError(string text)
    {
        try
        {
            return JsonNode.Parse(text) is JsonObject o
                ? new PlaidError(o["error_type"]?.GetValue<string>(), o["error_code"]?.GetValue<string>(), o["error_message"]?.GetValue<string>() ?? "")
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string Truncate(string text) => text.Length > 300 ? text[..300] + "…" : text;

    private sealed record PlaidError(string? Type, string? Code, string Message);
}

/// <summary>Plaid answered an error other than a rate limit or a mutation during pagination.</summary>
public sealed class PlaidApiException(int status, string? errorType, string? errorCode, string message)
    : Exception($"Plaid answered {status} {errorType}/{errorCode}: {message}")
{
    public const string MutationDuringPagination = "TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION";

    public int Status { get; } = status;

    public string? ErrorType { get; } = errorType;

    public string? ErrorCode { get; } = errorCode;
}

/// <summary>TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION: the sync loop must restart from its first cursor.</summary>
public sealed class PlaidSyncMutationException(string message) : Exception($"{PlaidApiException.MutationDuringPagination}: {message}");

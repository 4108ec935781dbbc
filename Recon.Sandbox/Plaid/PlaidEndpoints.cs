using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Recon.Sandbox.Plaid;

/// <summary>The Plaid-compatible <c>POST /transactions/sync</c>: cursor paging over each item's change log, with
/// Plaid's error bodies, its per-item rate limit and an injectable mutation-during-pagination error.</summary>
public static class PlaidEndpoints
{
    /// <summary>Plaid caps <c>count</c> at 500 changes per page; its default is 100.</summary>
    public const int MaxCount = 500;

    private const int DefaultCount = 100;

    public static void MapPlaid(this IEndpointRouteBuilder app)
        => app.MapPost("/transactions/sync", SyncAsync);

    private static async Task SyncAsync(HttpContext http, SandboxState state, ProviderGate gate)
    {
        const string counterKey = "plaid /transactions/sync";
        var requestId = Guid.NewGuid().ToString("N")[..15];
        JsonObject? body;
        try
        {
            body = await JsonNode.ParseAsync(http.Request.Body, cancellationToken: http.RequestAborted) as JsonObject;
        }
        catch (JsonException ex)
        {
            body = null;
            state.Counters.Record(counterKey, gate.UnixSecondNow, SandboxCounters.Outcome.Rejected);
            await ErrorAsync(http, 400, "INVALID_REQUEST", "INVALID_BODY", $"body is not valid JSON: {ex.Message}", requestId);
            return;
        }
        var clientId = Text(body, "client_id") ?? NullIfEmpty(http.Request.Headers["PLAID-CLIENT-ID"].ToString());
        var secret = Text(body, "secret") ?? NullIfEmpty(http.Request.Headers["PLAID-SECRET"].ToString());
        if (clientId is null || secret is null)
        {
            // Plaid tells a missing credential (a request error) from a wrong one (INVALID_API_KEYS)
            var missing = string.Join(", ", new[] { clientId is null ? "client_id" : null, secret is null ? "secret" : null }.Where(x => x is not null));
            state.Counters.Record(counterKey, gate.UnixSecondNow, SandboxCounters.Outcome.Rejected);
            await ErrorAsync(http, 400, "INVALID_REQUEST", "MISSING_FIELDS", $"the following required fields are missing: {missing}", requestId);
            return;
        }
        if (Text(body, "access_token") is null)
        {
            state.Counters.Record(counterKey, gate.UnixSecondNow, SandboxCounters.Outcome.Rejected);
            await ErrorAsync(http, 400, "INVALID_REQUEST", "MISSING_FIELDS", "the following required fields are missing: access_token", requestId);
            return;
        }
        if (Unknown(body!, ["client_id", "secret", "access_token", "cursor", "count", "options"]) is { } unknownField)
        {
            state.Counters.Record(counterKey, gate.UnixSecondNow, SandboxCounters.Outcome.Rejected);
            await ErrorAsync(http, 400, "INVALID_REQUEST", "UNKNOWN_FIELDS", $"the following fields are not recognized by this endpoint: {unknownField}", requestId);
            return;
        }
        var options = body!["options"] as JsonObject;
        if (options is not null && Unknown(options, OptionKeys) is { } unknownOption)
        {
            state.Counters.Record(counterKey, gate.UnixSecondNow, SandboxCounters.Outcome.Rejected);
            await ErrorAsync(http, 400, "INVALID_REQUEST", "UNKNOWN_FIELDS", $"the following fields are not recognized by this endpoint: options.{unknownOption}", requestId);
            return;
        }
        var includeOriginal = options?["include_original_description"] is JsonValue io && io.TryGetValue<bool>(out var b) && b;
        if (!Stripe.StripeEndpoints.FixedTimeEquals(clientId, state.Options.PlaidClientId) || !Stripe.StripeEndpoints.FixedTimeEquals(secret, state.Options.PlaidSecret))
        {
            state.Counters.Record(counterKey, gate.UnixSecondNow, SandboxCounters.Outcome.Rejected);
            await ErrorAsync(http, 400, "INVALID_INPUT", "INVALID_API_KEYS", "invalid client_id or secret provided", requestId);
            return;
        }
        var item = Text(body, "access_token") is { } token ? state.Plaid.Find(token) : null;
        if (item is null)
        {
            state.Counters.Record(counterKey, gate.UnixSecondNow, SandboxCounters.Outcome.Rejected);
            await ErrorAsync(http, 400, "INVALID_INPUT", "INVALID_ACCESS_TOKEN", "provided access token is in an invalid format or unknown", requestId);
            return;
        }
        var count = DefaultCount;
        if (body!["count"] is { } c)
        {
            if (c.GetValueKind() != JsonValueKind.Number || !c.AsValue().TryGetValue(out count) || count is < 1 or > MaxCount)
            {
                state.Counters.Record(counterKey, gate.UnixSecondNow, SandboxCounters.Outcome.Rejected);
                await ErrorAsync(http, 400, "INVALID_REQUEST", "INVALID_FIELD", $"count must be an integer between 1 and {MaxCount}", requestId);
                return;
            }
        }
        if (!TryDecodeCursor(Text(body, "cursor"), out var position, out var midPagination) || position > item.LogLength)
        {
            state.Counters.Record(counterKey, gate.UnixSecondNow, SandboxCounters.Outcome.Rejected);
            await ErrorAsync(http, 400, "INVALID_REQUEST", "INVALID_FIELD", "cursor is not one this item issued", requestId);
            return;
        }
        var behavior = state.Behavior;
        if (item.TakeRateLimitError() || gate.TryAdmit([($"plaid:sync:{item.ItemId}", behavior.PlaidSyncPerItemPerMinute, 60)]) == ProviderGate.Verdict.Throttled)
        {
            state.Counters.Record(counterKey, gate.UnixSecondNow, SandboxCounters.Outcome.Throttled);
            await ErrorAsync(http, 429, "RATE_LIMIT_EXCEEDED", "TRANSACTIONS_SYNC_LIMIT", "rate limit exceeded for attempts to access this item. please try again later", requestId);
            return;
        }
        var (fault, hung) = await gate.DelayAndFaultAsync(http.RequestAborted);
        if (fault == ProviderGate.Verdict.ServerError)
        {
            state.Counters.Record(counterKey, gate.UnixSecondNow, SandboxCounters.Outcome.ServerError);
            await ErrorAsync(http, 500, "API_ERROR", "INTERNAL_SERVER_ERROR", "an unexpected error occurred (injected by the sandbox)", requestId);
            return;
        }
        if (item.TakeMutationError(midPagination))
        {
            state.Counters.Record(counterKey, gate.UnixSecondNow, SandboxCounters.Outcome.Rejected);
            await ErrorAsync(http, 400, "TRANSACTIONS_ERROR", "TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION",
                "Underlying transaction data changed since last page was fetched. Please restart pagination from last update.", requestId);
            return;
        }
        var page = item.Read(position, count);
        var accountFilter = options?["account_id"]?.GetValue<string>();
        bool Wanted(string accountId) => accountFilter is null || accountFilter == accountId;
        JsonNode Shape(JsonObject t) => PlaidTransactionJson.Complete(t, includeOriginal);
        var response = new JsonObject
        {
            ["accounts"] = new JsonArray([.. item.Accounts().Where(a => Wanted(a.AccountId)).Select(a => (JsonNode)PlaidTransactionJson.Account(a.AccountId, a.Currency))]),
            ["added"] = new JsonArray([.. page.Added.Where(t => Wanted(t["account_id"]!.GetValue<string>())).Select(Shape)]),
            ["modified"] = new JsonArray([.. page.Modified.Where(t => Wanted(t["account_id"]!.GetValue<string>())).Select(Shape)]),
            ["removed"] = new JsonArray([.. page.Removed.Where(r => Wanted(r.AccountId)).Select(r => (JsonNode)new JsonObject { ["account_id"] = r.AccountId, ["transaction_id"] = r.TransactionId })]),
            ["next_cursor"] = EncodeCursor(page.NextPosition, page.HasMore),
            ["has_more"] = page.HasMore,
            ["request_id"] = requestId,
            ["transactions_update_status"] = "HISTORICAL_UPDATE_COMPLETE",
        };
        state.Counters.Record(counterKey, gate.UnixSecondNow, hung ? SandboxCounters.Outcome.Hung : SandboxCounters.Outcome.Ok);
        await Stripe.StripeEndpoints.WriteAsync(http, 200, response.ToJsonString());
    }

    /// <summary>Opaque to clients; inside, the log position and whether it was issued mid-pagination (has_more).</summary>
    public static string EncodeCursor(int position, bool midPagination)
        => Convert.ToBase64String(Encoding.UTF8.GetBytes($"sbx1:{position}:{(midPagination ? 1 : 0)}"));

    private static bool TryDecodeCursor(string? cursor, out int position, out bool midPagination)
    {
        position = 0;
        midPagination = false;
        if (string.IsNullOrEmpty(cursor))
        {
            return true;
        }
        try
        {
            var parts = Encoding.UTF8.GetString(Convert.FromBase64String(cursor)).Split(':');
            if (parts.Length == 3 && parts[0] == "sbx1" && int.TryParse(parts[1], out position) && position >= 0)
            {
                midPagination = parts[2] == "1";
                return true;
            }
        }
        catch (FormatException)
        {
        }
        return false;
    }

    /// <summary>Keys of <c>TransactionsSyncRequestOptions</c> in Plaid's spec.</summary>
    private static readonly string[] OptionKeys =
        ["include_original_description", "include_personal_finance_category", "include_logo_and_counterparty_beta", "personal_finance_category_version", "days_requested", "account_id"];

    private static string? Unknown(JsonObject o, string[] known) => o.Select(p => p.Key).FirstOrDefault(k => !known.Contains(k, StringComparer.Ordinal));

    private static string? NullIfEmpty(string s) => s.Length == 0 ? null : s;

    private static string? Text(JsonObject? body, string name)
        => body?[name] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    private static Task ErrorAsync(HttpContext http, int status, string type, string code, string message, string requestId)
        => Stripe.StripeEndpoints.WriteAsync(http, status, new JsonObject
        {
            ["error_type"] = type,
            ["error_code"] = code,
            ["error_message"] = message,
            ["error_code_reason"] = null,
            ["display_message"] = null,
            ["request_id"] = requestId,
            ["causes"] = new JsonArray(),
            ["status"] = status,
            ["documentation_url"] = $"https://plaid.com/docs/errors/{type.ToLowerInvariant().Replace('_', '-')}/#{code.ToLowerInvariant()}",
            ["suggested_action"] = null,
        }.ToJsonString());
}

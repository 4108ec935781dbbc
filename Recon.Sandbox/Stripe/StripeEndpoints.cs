using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Recon.Sandbox.Stripe;

/// <summary>The Stripe-compatible read API: balance transactions, payouts and charges (list and retrieve), with
/// bearer-key auth, Stripe's global and per-endpoint limits, and Stripe's error bodies.</summary>
public static class StripeEndpoints
{
    /// <summary>Stripe caps <c>limit</c> at 100 objects per page.</summary>
    public const int MaxPageSize = 100;

    public static void MapStripe(this IEndpointRouteBuilder app)
    {
        foreach (var (path, type) in new[] { ("balance_transactions", "balance_transaction"), ("charges", "charge"), ("payouts", "payout") })
        {
            app.MapGet($"/v1/{path}", (HttpContext http, SandboxState state, ProviderGate gate)
                => HandleAsync(http, state, gate, path, () => List(http.Request.Query, state.Stripe.Collection(type), type, path)));
            app.MapGet($"/v1/{path}/{{id}}", (HttpContext http, string id, SandboxState state, ProviderGate gate)
                => HandleAsync(http, state, gate, path, () => Retrieve(state.Stripe.Collection(type), type, id)));
        }
    }

    private static async Task HandleAsync(HttpContext http, SandboxState state, ProviderGate gate, string endpoint, Func<(int Status, string Body)> handler)
    {
        var counterKey = $"stripe /v1/{endpoint}";
        if (!Authorized(http.Request, state.Options.StripeApiKey))
        {
            state.Counters.Record(counterKey, gate.UnixSecondNow, SandboxCounters.Outcome.Rejected);
            await WriteAsync(http, 401, Error("invalid_request_error", null, "Invalid API Key provided."));
            return;
        }
        var behavior = state.Behavior;
        var verdict = gate.TryAdmit([("stripe:global", behavior.StripeGlobalPerSecond, 1), ($"stripe:{endpoint}", behavior.StripePerEndpointPerSecond, 1)]);
        if (verdict == ProviderGate.Verdict.Throttled)
        {
            state.Counters.Record(counterKey, gate.UnixSecondNow, SandboxCounters.Outcome.Throttled);
            http.Response.Headers.RetryAfter = behavior.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
            http.Response.Headers["Stripe-Should-Retry"] = "false";
            await WriteAsync(http, 429, Error("invalid_request_error", "rate_limit",
                "Too many requests hit the API too quickly. We recommend an exponential backoff of your requests."));
            return;
        }
        var (fault, hung) = await gate.DelayAndFaultAsync(http.RequestAborted);
        if (fault == ProviderGate.Verdict.ServerError)
        {
            state.Counters.Record(counterKey, gate.UnixSecondNow, SandboxCounters.Outcome.ServerError);
            http.Response.Headers["Stripe-Should-Retry"] = "true";
            await WriteAsync(http, 500, Error("api_error", null, "An unknown error occurred (injected by the sandbox)."));
            return;
        }
        var (status, body) = handler();
        state.Counters.Record(counterKey, gate.UnixSecondNow,
            hung ? SandboxCounters.Outcome.Hung : status == 200 ? SandboxCounters.Outcome.Ok : SandboxCounters.Outcome.Rejected);
        await WriteAsync(http, status, body);
    }

    private static (int, string) Retrieve(StripeCollection collection, string type, string id)
        => collection.Find(id) is { } o ? (200, o.Json) : (404, Error("invalid_request_error", "resource_missing", $"No such {type}: '{id}'", "id"));

    private static (int, string) List(IQueryCollection query, StripeCollection collection, string type, string path)
    {
        var limit = 10;
        if (query.TryGetValue("limit", out var l))
        {
            if (!int.TryParse(l, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > MaxPageSize)
            {
                return (400, Error("invalid_request_error", "parameter_invalid_integer", $"Invalid integer: {l}. limit must be between 1 and {MaxPageSize}.", "limit"));
            }
        }
        StripeObject? startingAfter = null, endingBefore = null;
        foreach (var (name, set) in new (string, Action<StripeObject>)[] { ("starting_after", o => startingAfter = o), ("ending_before", o => endingBefore = o) })
        {
            if (query.TryGetValue(name, out var id) && !StringValues.IsNullOrEmpty(id))
            {
                var found = collection.Find(id.ToString());
                if (found is null)
                {
                    return (400, Error("invalid_request_error", "resource_missing", $"No such {type}: '{id}'", name));
                }
                set(found);
            }
        }
        if (startingAfter is not null && endingBefore is not null)
        {
            return (400, Error("invalid_request_error", "parameter_invalid_empty", "You may only specify one of these parameters: ending_before, starting_after.", "ending_before"));
        }
        long gte = long.MinValue, lte = long.MaxValue;
        foreach (var (key, value) in query)
        {
            if (!key.StartsWith("created", StringComparison.Ordinal))
            {
                continue;
            }
            if (!long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var t))
            {
                return (400, Error("invalid_request_error", "parameter_invalid_integer", $"Invalid integer: {value}", key));
            }
            switch (key)
            {
                case "created": gte = Math.Max(gte, t); lte = Math.Min(lte, t); break;
                case "created[gte]": gte = Math.Max(gte, t); break;
                case "created[gt]": gte = Math.Max(gte, t + 1); break;
                case "created[lte]": lte = Math.Min(lte, t); break;
                case "created[lt]": lte = Math.Min(lte, t - 1); break;
                default: return (400, Error("invalid_request_error", "parameter_unknown", $"Received unknown parameter: {key}", key));
            }
        }
        var typeFilter = query.TryGetValue("type", out var tf) ? tf.ToString() : null;
        var payoutFilter = query.TryGetValue("payout", out var pf) ? pf.ToString() : null;
        if (payoutFilter is not null && type != "balance_transaction")
        {
            return (400, Error("invalid_request_error", "parameter_unknown", "Received unknown parameter: payout", "payout"));
        }
        var (page, hasMore) = collection.List(
            o => o.Created >= gte && o.Created <= lte
                && (typeFilter is null || o.Type == typeFilter)
                && (payoutFilter is null || o.Payout == payoutFilter),
            limit, startingAfter, endingBefore);
        var sb = new StringBuilder("{\"object\":\"list\",\"data\":[");
        for (var i = 0; i < page.Count; i++)
        {
            sb.Append(i == 0 ? "" : ",").Append(page[i].Json);
        }
        sb.Append("],\"has_more\":").Append(hasMore ? "true" : "false").Append(",\"url\":\"/v1/").Append(path).Append("\"}");
        return (200, sb.ToString());
    }

    private static bool Authorized(HttpRequest request, string key)
    {
        var header = request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.Ordinal))
        {
            return FixedTimeEquals(header[7..].Trim(), key);
        }
        if (header.StartsWith("Basic ", StringComparison.Ordinal))
        {
            try
            {
                var user = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..].Trim())).Split(':')[0];
                return FixedTimeEquals(user, key);
            }
            catch (FormatException)
            {
                return false;
            }
        }
        return false;
    }

    internal static bool FixedTimeEquals(string a, string b)
        => System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(a), Encoding.UTF8.GetBytes(b));

    /// <summary>Stripe's error body: <c>{"error": {"type", "code", "message", "param"}}</c>.</summary>
    internal static string Error(string type, string? code, string message, string? param = null)
    {
        var error = new Dictionary<string, string> { ["type"] = type, ["message"] = message };
        if (code is not null)
        {
            error["code"] = code;
            error["doc_url"] = $"https://stripe.com/docs/error-codes/{code.Replace('_', '-')}";
        }
        if (param is not null)
        {
            error["param"] = param;
        }
        return JsonSerializer.Serialize(new { error });
    }

    internal static async Task WriteAsync(HttpContext http, int status, string body, string contentType = "application/json")
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = contentType;
        await http.Response.WriteAsync(body, http.RequestAborted);
    }
}

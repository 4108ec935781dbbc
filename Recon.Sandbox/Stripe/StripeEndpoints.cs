using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Recon.Core.RateLimiting;

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
                => HandleAsync(http, state, gate, path, () => List(http.Request.Query, state.Stripe, type, path)));
            app.MapGet($"/v1/{path}/{{id}}", (HttpContext http, string id, SandboxState state, ProviderGate gate)
                => HandleAsync(http, state, gate, path, () => Retrieve(http.Request.Query, state.Stripe, type, id)));
            // the sandbox serves reads only: any other method on these paths is, to a client, an unknown URL
            app.MapMethods($"/v1/{path}", [HttpMethods.Post, HttpMethods.Put, HttpMethods.Patch, HttpMethods.Delete], UnrecognizedAsync);
            app.MapMethods($"/v1/{path}/{{id}}", [HttpMethods.Post, HttpMethods.Put, HttpMethods.Patch, HttpMethods.Delete], UnrecognizedAsync);
        }
        app.Map("/v1/{**rest}", UnrecognizedAsync);
    }

    /// <summary>Stripe answers an unknown URL or method with a 404 JSON error, not an empty body.</summary>
    private static Task UnrecognizedAsync(HttpContext http)
    {
        StampRequestId(http);
        return WriteAsync(http, 404, Error("invalid_request_error", null,
            $"Unrecognized request URL ({http.Request.Method}: {http.Request.Path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/."));
    }

    /// <summary>Every Stripe response carries <c>Request-Id</c> (the SDKs surface it as the error's request id).</summary>
    private static void StampRequestId(HttpContext http)
        => http.Response.Headers["Request-Id"] = "req_" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(7));

    private static async Task HandleAsync(HttpContext http, SandboxState state, ProviderGate gate, string endpoint, Func<(int Status, string Body)> handler)
    {
        var counterKey = $"stripe /v1/{endpoint}";
        StampRequestId(http);
        var presented = PresentedKey(http.Request);
        if (presented is null || !FixedTimeEquals(presented, state.Options.StripeApiKey))
        {
            state.Counters.Record(counterKey, gate.UnixSecondNow, SandboxCounters.Outcome.Rejected);
            http.Response.Headers.WWWAuthenticate = "Bearer realm=\"Stripe\"";
            await WriteAsync(http, 401, Error("invalid_request_error", null, presented is null
                ? "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/."
                : $"Invalid API Key provided: {Redact(presented)}"));
            return;
        }
        var behavior = state.Behavior;
        // live mode: 100/s global and 25/s per endpoint; test mode: 25/s in all (Stripe's published limits)
        // the mode comes from the key, by the same rule Recon's limiter defaults use (RateLimitOptions.StripeModeOf)
        IReadOnlyList<(string, int, int)> limits = RateLimitOptions.StripeModeOf(state.Options.StripeApiKey) == StripeApiMode.Live
            ? [("stripe:global", behavior.StripeGlobalPerSecond, 1), ($"stripe:{endpoint}", behavior.StripePerEndpointPerSecond, 1)]
            : [("stripe:test", behavior.StripeTestModePerSecond, 1)];
        var verdict = gate.TryAdmit(limits);
        if (verdict == ProviderGate.Verdict.Throttled)
        {
            state.Counters.Record(counterKey, gate.UnixSecondNow, SandboxCounters.Outcome.Throttled);
            // no Retry-After: Stripe does not send one (its SDKs dropped support); the client backs off on its own
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

    private static (int, string) Retrieve(IQueryCollection query, StripeStore store, string type, string id)
    {
        var (expand, error) = ReadExpand(query, type, ["expand"], prefix: "");
        if (error is not null)
        {
            return (400, error);
        }
        return store.Collection(type).Find(id) is { } o
            ? (200, Expand(o.Json, expand, store))
            : (404, Error("invalid_request_error", "resource_missing", $"No such {type}: '{id}'", "id"));
    }

    /// <summary>The <c>expand[]</c> / <c>expand[n]</c> paths (with <paramref name="prefix"/> <c>data.</c> on lists), or
    /// Stripe's 400 for a parameter the endpoint does not know or a field that cannot be expanded.</summary>
    private static (List<string> Fields, string? Error) ReadExpand(IQueryCollection query, string type, string[] allowed, string prefix)
    {
        var fields = new List<string>();
        foreach (var (key, values) in query)
        {
            var bracket = key.IndexOf('[', StringComparison.Ordinal);
            var name = bracket < 0 ? key : key[..bracket];
            if (!allowed.Contains(name, StringComparer.Ordinal))
            {
                return (fields, Error("invalid_request_error", "parameter_unknown", $"Received unknown parameter: {key}", key));
            }
            if (name != "expand")
            {
                continue;
            }
            var index = bracket < 0 ? "" : key[bracket..];
            if (index.Length < 2 || index[^1] != ']' || !index[1..^1].All(char.IsAsciiDigit))
            {
                return (fields, Error("invalid_request_error", "parameter_invalid_string", $"Invalid array: {key} must be given as expand[] or expand[n]", key));
            }
            foreach (var path in values.Where(v => !string.IsNullOrEmpty(v)).Select(v => v!))
            {
                var field = path.StartsWith(prefix, StringComparison.Ordinal) ? path[prefix.Length..] : null;
                if (field is null || !StripeSchema.Expandable[type].ContainsKey(field))
                {
                    return (fields, Error("invalid_request_error", null, $"This property cannot be expanded ({path}).", null));
                }
                fields.Add(field);
            }
        }
        return (fields, null);
    }

    /// <summary>Replaces each expanded field's id by the object it names, when the sandbox holds that object (Stripe
    /// would always hold it; an id the sandbox was never given stays an id rather than being invented).</summary>
    private static string Expand(string json, List<string> fields, StripeStore store)
    {
        if (fields.Count == 0)
        {
            return json;
        }
        var o = System.Text.Json.Nodes.JsonNode.Parse(json)!.AsObject();
        var type = o["object"]!.GetValue<string>();
        foreach (var field in fields)
        {
            if (o[field] is System.Text.Json.Nodes.JsonValue v && v.TryGetValue<string>(out var id))
            {
                foreach (var target in StripeSchema.Expandable[type][field])
                {
                    if (store.Collection(target).Find(id) is { } found)
                    {
                        o[field] = System.Text.Json.Nodes.JsonNode.Parse(found.Json);
                        break;
                    }
                }
            }
        }
        return o.ToJsonString();
    }

    private static (int, string) List(IQueryCollection query, StripeStore store, string type, string path)
    {
        var collection = store.Collection(type);
        var (expand, expandError) = ReadExpand(query, type, StripeSchema.ListParameters[type], prefix: "data.");
        if (expandError is not null)
        {
            return (400, expandError);
        }
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
        var (created, createdError) = ReadRange(query, "created");
        if (createdError is not null)
        {
            return (400, createdError);
        }
        var (arrival, arrivalError) = ReadRange(query, "arrival_date");
        if (arrivalError is not null)
        {
            return (400, arrivalError);
        }
        var typeFilter = query.TryGetValue("type", out var tf) ? tf.ToString() : null;
        var payoutFilter = query.TryGetValue("payout", out var pf) ? pf.ToString() : null;
        if (payoutFilter is not null && !store.KnowsPayout(payoutFilter))
        {
            return (404, Error("invalid_request_error", "resource_missing", $"No such payout: '{payoutFilter}'", "payout"));
        }
        // equality filters on the object's own fields; currency is compared lower-case, as Stripe stores it
        var equals = StripeStore.FilterFields
            .Where(f => query.ContainsKey(f))
            .Select(f => (Field: f, Value: f == "currency" ? query[f].ToString().ToLowerInvariant() : query[f].ToString()))
            .ToList();
        var (page, hasMore) = collection.List(
            o => o.Created >= created.Gte && o.Created <= created.Lte
                && (arrival.Gte == long.MinValue && arrival.Lte == long.MaxValue || o.ArrivalDate is { } a && a >= arrival.Gte && a <= arrival.Lte)
                && (typeFilter is null || o.Type == typeFilter)
                && (payoutFilter is null || o.Payout == payoutFilter)
                && equals.All(e => string.Equals(o.Filters.GetValueOrDefault(e.Field), e.Value, StringComparison.Ordinal)),
            limit, startingAfter, endingBefore);
        var sb = new StringBuilder("{\"object\":\"list\",\"data\":[");
        for (var i = 0; i < page.Count; i++)
        {
            sb.Append(i == 0 ? "" : ",").Append(Expand(page[i].Json, expand, store));
        }
        sb.Append("],\"has_more\":").Append(hasMore ? "true" : "false").Append(",\"url\":\"/v1/").Append(path).Append("\"}");
        return (200, sb.ToString());
    }

    /// <summary>A timestamp range parameter: <c>name=t</c> or <c>name[gte|gt|lte|lt]=t</c>.</summary>
    private static ((long Gte, long Lte) Range, string? Error) ReadRange(IQueryCollection query, string name)
    {
        long gte = long.MinValue, lte = long.MaxValue;
        foreach (var (key, value) in query)
        {
            if (key != name && !key.StartsWith(name + "[", StringComparison.Ordinal))
            {
                continue;
            }
            if (!long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var t))
            {
                return ((gte, lte), Error("invalid_request_error", "parameter_invalid_integer", $"Invalid integer: {value}", key));
            }
            var op = key[name.Length..];
            switch (op)
            {
                case "": gte = Math.Max(gte, t); lte = Math.Min(lte, t); break;
                case "[gte]": gte = Math.Max(gte, t); break;
                case "[gt]": gte = Math.Max(gte, t + 1); break;
                case "[lte]": lte = Math.Min(lte, t); break;
                case "[lt]": lte = Math.Min(lte, t - 1); break;
                default: return ((gte, lte), Error("invalid_request_error", "parameter_unknown", $"Received unknown parameter: {key}", key));
            }
        }
        return ((gte, lte), null);
    }

    /// <summary>The key from <c>Authorization: Bearer</c> or Basic (user name), or null when none was sent.</summary>
    private static string? PresentedKey(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.Ordinal))
        {
            var key = header[7..].Trim();
            return key.Length == 0 ? null : key;
        }
        if (header.StartsWith("Basic ", StringComparison.Ordinal))
        {
            try
            {
                var user = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..].Trim())).Split(':')[0];
                return user.Length == 0 ? null : user;
            }
            catch (FormatException)
            {
                return "";
            }
        }
        return null;
    }

    /// <summary>Stripe names a wrong key by its prefix and last four characters only.</summary>
    private static string Redact(string key)
    {
        var underscore = key.LastIndexOf('_');
        var prefix = underscore >= 0 && underscore < 12 ? key[..(underscore + 1)] : "";
        return key.Length <= 4 ? "****" : $"{prefix}{new string('*', Math.Max(4, key.Length - prefix.Length - 4))}{key[^4..]}";
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

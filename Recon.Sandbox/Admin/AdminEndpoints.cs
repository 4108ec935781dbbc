using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Recon.Core.Ingestion.Statements;
using Recon.Sandbox.Plaid;

namespace Recon.Sandbox.Admin;

/// <summary><c>/admin</c>: load data, replace behavior (limits, latency, faults), arm one-shot Plaid faults, read and reset counters.
/// Every call needs <c>X-Sandbox-Admin-Key</c>.</summary>
public static class AdminEndpoints
{
    public const string KeyHeader = "X-Sandbox-Admin-Key";

    public static void MapAdmin(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/admin").AddEndpointFilter(async (context, next) =>
        {
            var state = context.HttpContext.RequestServices.GetRequiredService<SandboxState>();
            var key = context.HttpContext.Request.Headers[KeyHeader].ToString();
            if (!Stripe.StripeEndpoints.FixedTimeEquals(key, state.Options.AdminKey))
            {
                return Results.Json(new { error = $"send the sandbox admin key in {KeyHeader}" }, statusCode: 401);
            }
            try
            {
                return await next(context);
            }
            catch (Exception ex) when (ex is ArgumentException or JsonException or InvalidOperationException or FormatException)
            {
                return Results.Json(new { error = ex.Message }, statusCode: 400);
            }
        });

        admin.MapGet("/counters", (SandboxState s) => Results.Json(s.Counters.Snapshot(), SandboxJson.Options));
        admin.MapPost("/counters/reset", (SandboxState s, ProviderGate gate) =>
        {
            s.Counters.Reset();
            gate.Reset();
            return Results.NoContent();
        });
        admin.MapGet("/behavior", (SandboxState s) => Results.Json(s.Behavior, SandboxJson.Options));
        admin.MapPut("/behavior", (SandboxState s, SandboxBehavior behavior) =>
        {
            s.Behavior = behavior;
            return Results.Json(s.Behavior, SandboxJson.Options);
        });
        admin.MapPost("/reset", (SandboxState s, ProviderGate gate) =>
        {
            s.Clear();
            gate.Reset();
            return Results.NoContent();
        });
        admin.MapPost("/stripe/{objectType}", async (string objectType, HttpRequest request, SandboxState s) =>
        {
            var array = await JsonNode.ParseAsync(request.Body) as JsonArray ?? throw new JsonException("body must be a JSON array of Stripe objects");
            var loaded = s.Stripe.Load(objectType, array.Select((n, i) => n as JsonObject ?? throw new JsonException($"element {i} is not an object")));
            return Results.Json(new { loaded, total = s.Stripe.Collection(objectType).Count });
        });
        admin.MapPost("/plaid/items/{accessToken}/events", (string accessToken, List<PlaidEventDto> events, SandboxState s) =>
        {
            var item = s.Plaid.GetOrCreate(accessToken);
            item.Append(events.Select(e => e.ToEvent()));
            return Results.Json(new { item_id = item.ItemId, log_length = item.LogLength });
        });
        admin.MapPost("/plaid/items/{accessToken}/faults", (string accessToken, PlaidFaultsDto faults, SandboxState s) =>
        {
            var item = s.Plaid.Find(accessToken) ?? throw new ArgumentException($"no Plaid item with access token '{accessToken}'");
            item.ArmMutationErrors(faults.MutationErrors, (faults.MutationEvents ?? []).Select(e => e.ToEvent()));
            item.ArmRateLimitErrors(faults.RateLimitErrors);
            return Results.NoContent();
        });
        admin.MapGet("/plaid/items/{accessToken}/transactions", (string accessToken, SandboxState s) =>
        {
            var item = s.Plaid.Find(accessToken) ?? throw new ArgumentException($"no Plaid item with access token '{accessToken}'");
            return Results.Text(new JsonArray([.. item.LiveTransactions()]).ToJsonString(), "application/json");
        });
        admin.MapPost("/banks/{bank}/statements", (string bank, List<BankStatement> statements, SandboxState s)
            => Results.Json(new { loaded = s.Banks.Load(bank, statements) }));
    }
}

/// <summary>A Plaid change as loaded through the admin API.</summary>
public sealed record PlaidEventDto(string Kind, JsonObject? Transaction, string? TransactionId, string? AccountId)
{
    public PlaidEvent ToEvent()
    {
        var id = TransactionId ?? Transaction?["transaction_id"]?.GetValue<string>() ?? throw new ArgumentException($"a {Kind} event without a transaction id");
        var account = AccountId ?? Transaction?["account_id"]?.GetValue<string>() ?? "";
        return new PlaidEvent(Kind, id, account, Transaction);
    }

    public static PlaidEventDto Added(JsonObject transaction) => new("added", transaction, null, null);

    public static PlaidEventDto Modified(JsonObject transaction) => new("modified", transaction, null, null);

    public static PlaidEventDto Removed(string transactionId, string accountId) => new("removed", null, transactionId, accountId);
}

/// <summary>One-shot Plaid faults for an item.</summary>
/// <param name="MutationErrors">How many mid-pagination calls fail with TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION.</param>
/// <param name="MutationEvents">Changes appended when the first of them fires (the mutation itself).</param>
/// <param name="RateLimitErrors">How many calls answer 429 RATE_LIMIT_EXCEEDED.</param>
public sealed record PlaidFaultsDto(int MutationErrors, List<PlaidEventDto>? MutationEvents, int RateLimitErrors);

/// <summary>JSON settings of the admin API: snake_case, as the providers themselves speak.</summary>
public static class SandboxJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
}

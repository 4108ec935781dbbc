using System.Text.Json.Nodes;

namespace Recon.Sandbox.Stripe;

/// <summary>
/// What Stripe's published API definition says about the three objects and their list endpoints: every field an
/// object carries (a loaded object that omits one gets Stripe's empty value for it) and the query parameters each
/// endpoint accepts (anything else is <c>parameter_unknown</c>).
/// </summary>
/// <remarks>
/// Field lists: <c>openapi/fixtures3.json</c> of github.com/stripe/openapi at f6c2a48fbac2819d1feba8143d942ffc65e1c0d2
/// (generated from the spec; the spec file itself is not in that snapshot). Query parameters, required fields and
/// the error object: <c>openapi/spec3.json</c> at e0123a38b40c8d840b4c0469ac0ee1650b6bfea3, the newest commit whose
/// spec file the snapshot holds. Defaults are the values a plain object of that kind has (no customer, not disputed,
/// live mode false because the sandbox's keys are test keys unless they say <c>sk_live_</c>).
/// </remarks>
internal static class StripeSchema
{
    /// <summary>Query parameters of <c>GET /v1/{path}</c>; <c>expand</c> appears as <c>expand[]</c> or <c>expand[n]</c>.</summary>
    public static readonly IReadOnlyDictionary<string, string[]> ListParameters = new Dictionary<string, string[]>(StringComparer.Ordinal)
    {
        ["balance_transaction"] = ["created", "currency", "ending_before", "expand", "limit", "payout", "source", "starting_after", "type"],
        ["charge"] = ["created", "customer", "ending_before", "expand", "limit", "payment_intent", "starting_after", "transfer_group"],
        ["payout"] = ["arrival_date", "created", "destination", "ending_before", "expand", "limit", "starting_after", "status"],
    };

    /// <summary>Fields that can be expanded into the object their id names, and which collection holds it.</summary>
    public static readonly IReadOnlyDictionary<string, IReadOnlyDictionary<string, string[]>> Expandable = new Dictionary<string, IReadOnlyDictionary<string, string[]>>(StringComparer.Ordinal)
    {
        ["balance_transaction"] = new Dictionary<string, string[]>(StringComparer.Ordinal) { ["source"] = ["charge", "payout"] },
        ["charge"] = new Dictionary<string, string[]>(StringComparer.Ordinal)
        {
            ["balance_transaction"] = ["balance_transaction"],
            ["failure_balance_transaction"] = ["balance_transaction"],
            ["customer"] = [],
            ["payment_intent"] = [],
            ["application"] = [],
            ["application_fee"] = [],
            ["on_behalf_of"] = [],
            ["review"] = [],
            ["source_transfer"] = [],
        },
        ["payout"] = new Dictionary<string, string[]>(StringComparer.Ordinal)
        {
            ["balance_transaction"] = ["balance_transaction"],
            ["failure_balance_transaction"] = ["balance_transaction"],
            ["destination"] = [],
            ["original_payout"] = ["payout"],
            ["reversed_by"] = ["payout"],
            ["application_fee"] = [],
        },
    };

    /// <summary>Every field of the object in Stripe's definition, in the fixture's order, with the value it has when
    /// a loaded object does not give it (computed from the object where the definition ties fields together).</summary>
    public static IReadOnlyList<(string Field, Func<JsonObject, JsonNode?> Default)> Fields(string objectType) => objectType switch
    {
        "balance_transaction" =>
        [
            ("id", _ => null), ("object", _ => "balance_transaction"), ("amount", _ => 0), ("available_on", o => o["created"]?.DeepClone()),
            ("balance_type", _ => "payments"), ("created", _ => null), ("currency", _ => "usd"), ("description", _ => null),
            ("exchange_rate", _ => null), ("fee", _ => 0), ("fee_details", _ => new JsonArray()),
            ("net", o => (o["amount"]?.GetValue<long>() ?? 0) - (o["fee"]?.GetValue<long>() ?? 0)),
            ("reporting_category", o => ReportingCategory(o["type"]?.GetValue<string>())), ("source", _ => null),
            ("status", _ => "available"), ("type", _ => "charge"),
        ],
        "charge" =>
        [
            ("id", _ => null), ("object", _ => "charge"), ("amount", _ => 0), ("amount_captured", o => o["amount"]?.DeepClone() ?? 0),
            ("amount_refunded", _ => 0), ("application", _ => null), ("application_fee", _ => null), ("application_fee_amount", _ => null),
            ("balance_transaction", _ => null), ("billing_details", _ => BillingDetails()), ("calculated_statement_descriptor", _ => null),
            ("captured", _ => true), ("created", _ => null), ("currency", _ => "usd"), ("customer", _ => null), ("description", _ => null),
            ("disputed", _ => false), ("failure_balance_transaction", _ => null), ("failure_code", _ => null), ("failure_message", _ => null),
            ("fraud_details", _ => new JsonObject()), ("livemode", _ => false), ("metadata", _ => new JsonObject()), ("on_behalf_of", _ => null),
            ("outcome", _ => null), ("paid", _ => true), ("payment_intent", _ => null), ("payment_method", _ => null),
            ("payment_method_details", _ => null), ("receipt_email", _ => null), ("receipt_number", _ => null), ("receipt_url", _ => null),
            ("refunded", _ => false), ("refunds", o => EmptyList($"/v1/charges/{o["id"]?.GetValue<string>()}/refunds")), ("review", _ => null),
            ("shipping", _ => null), ("source_transfer", _ => null), ("statement_descriptor", _ => null),
            ("statement_descriptor_suffix", _ => null), ("status", _ => "succeeded"), ("transfer_data", _ => null), ("transfer_group", _ => null),
        ],
        "payout" =>
        [
            ("id", _ => null), ("object", _ => "payout"), ("amount", _ => 0), ("application_fee", _ => null), ("application_fee_amount", _ => null),
            ("arrival_date", o => o["created"]?.DeepClone()), ("automatic", _ => true), ("balance_transaction", _ => null), ("created", _ => null),
            ("currency", _ => "usd"), ("description", _ => null), ("destination", _ => null), ("failure_balance_transaction", _ => null),
            ("failure_code", _ => null), ("failure_message", _ => null), ("livemode", _ => false), ("metadata", _ => new JsonObject()),
            ("method", _ => "standard"), ("original_payout", _ => null), ("payout_method", _ => null),
            ("reconciliation_status", o => o["automatic"]?.GetValue<bool>() == false ? "not_applicable" : "completed"), ("reversed_by", _ => null),
            ("source_type", _ => "card"), ("statement_descriptor", _ => null), ("status", _ => "paid"), ("trace_id", _ => null), ("type", _ => "bank_account"),
        ],
        _ => throw new ArgumentException($"unknown Stripe object type '{objectType}'", nameof(objectType)),
    };

    /// <summary>The object with every field of its definition: given values kept, missing ones defaulted, unknown ones kept last.</summary>
    public static JsonObject Complete(string objectType, JsonObject given, bool livemode)
    {
        var complete = new JsonObject();
        foreach (var (field, fallback) in Fields(objectType))
        {
            complete[field] = given.TryGetPropertyValue(field, out var value) ? value?.DeepClone()
                : field == "livemode" ? livemode
                : fallback(given);
        }
        foreach (var (field, value) in given)
        {
            if (!complete.ContainsKey(field))
            {
                complete[field] = value?.DeepClone();
            }
        }
        return complete;
    }

    private static string ReportingCategory(string? type) => type switch
    {
        null or "charge" or "payment" => "charge",
        "refund" or "payment_refund" => "refund",
        "payout" => "payout",
        "adjustment" => "other_adjustment",
        "stripe_fee" => "fee",
        _ => type,
    };

    private static JsonObject BillingDetails() => new()
    {
        ["address"] = new JsonObject { ["city"] = null, ["country"] = null, ["line1"] = null, ["line2"] = null, ["postal_code"] = null, ["state"] = null },
        ["email"] = null,
        ["name"] = null,
        ["phone"] = null,
        ["tax_id"] = null,
    };

    private static JsonObject EmptyList(string url) => new() { ["object"] = "list", ["data"] = new JsonArray(), ["has_more"] = false, ["url"] = url };
}

using System.Globalization;
using System.Text.Json.Nodes;
using Recon.Core.Ingestion.Statements;

namespace Recon.Sandbox.Plaid;

/// <summary>Transactions and accounts shaped as Plaid sends them: every key of Plaid's <c>Transaction</c> and
/// <c>AccountBase</c> schemas, null when empty.</summary>
/// <remarks>
/// Field lists from <c>2020-09-14.yml</c> of github.com/plaid/plaid-openapi at 26f1a0588c12e765e99c815300d94eae0a3c7dc1:
/// <c>TransactionBase</c> + <c>Transaction</c> (required: authorized_datetime, datetime, location, payment_meta, …),
/// <c>PaymentMeta</c> (all eight keys required, nullable), <c>Location</c>, <c>AccountBase</c>, <c>AccountBalance</c>.
/// </remarks>
public static class PlaidTransactionJson
{
    /// <summary>Plaid's sign: <c>outflowMinor</c> is positive when money leaves the account.</summary>
    public static JsonObject Create(string transactionId, string accountId, long outflowMinor, string currency, DateOnly date, string name,
        bool pending = false, string? pendingTransactionId = null, string? referenceNumber = null)
    {
        // the amount goes out as a JSON number written from the decimal text, never through a double
        var text = MinorUnits.FormatDecimal(Math.Abs(outflowMinor), currency);
        var amount = JsonNode.Parse(outflowMinor < 0 ? "-" + text : text)!;
        return Complete(new JsonObject
        {
            ["account_id"] = accountId,
            ["amount"] = amount,
            ["iso_currency_code"] = currency,
            ["date"] = date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            ["authorized_date"] = date.AddDays(-1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            ["name"] = name,
            ["payment_channel"] = "other",
            ["payment_meta"] = new JsonObject { ["reference_number"] = referenceNumber },
            ["pending"] = pending,
            ["pending_transaction_id"] = pendingTransactionId,
            ["transaction_id"] = transactionId,
            ["transaction_type"] = "special",
        }, includeOriginalDescription: false);
    }

    /// <summary>A copy of <paramref name="given"/> with every key of Plaid's schema (missing ones null), the amount as
    /// Plaid writes it (a plain JSON number: <c>26.1</c>, <c>100</c>), and <c>original_description</c> only when asked for.</summary>
    public static JsonObject Complete(JsonObject given, bool includeOriginalDescription)
    {
        ArgumentNullException.ThrowIfNull(given);
        var t = new JsonObject();
        foreach (var key in TransactionKeys)
        {
            t[key] = given.TryGetPropertyValue(key, out var v) ? v?.DeepClone() : null;
        }
        foreach (var (key, value) in given)
        {
            if (!t.ContainsKey(key))
            {
                t[key] = value?.DeepClone();
            }
        }
        t["amount"] = PlainNumber(t["amount"]);
        var meta = t["payment_meta"] as JsonObject ?? new JsonObject();
        var completeMeta = new JsonObject();
        foreach (var key in PaymentMetaKeys)
        {
            completeMeta[key] = meta.TryGetPropertyValue(key, out var v) ? v?.DeepClone() : null;
        }
        t["payment_meta"] = completeMeta;
        if (t["location"] is not JsonObject)
        {
            t["location"] = new JsonObject(LocationKeys.Select(k => KeyValuePair.Create(k, (JsonNode?)null)));
        }
        t["counterparties"] ??= new JsonArray();
        t["payment_channel"] ??= "other";
        // Plaid sends the bank's raw description only when options.include_original_description is true, else null
        t["original_description"] = includeOriginalDescription ? given["original_description"]?.DeepClone() ?? given["name"]?.DeepClone() : null;
        return t;
    }

    /// <summary>One <c>AccountBase</c> as <c>/transactions/sync</c> lists it: balances unknown to the sandbox are null.</summary>
    public static JsonObject Account(string accountId, string? currency) => new()
    {
        ["account_id"] = accountId,
        ["balances"] = new JsonObject
        {
            ["available"] = null,
            ["current"] = null,
            ["limit"] = null,
            ["iso_currency_code"] = currency,
            ["unofficial_currency_code"] = null,
            ["last_updated_datetime"] = null,
        },
        ["mask"] = accountId.Length >= 4 ? accountId[^4..] : null,
        ["name"] = "Sandbox checking",
        ["official_name"] = null,
        ["type"] = "depository",
        ["subtype"] = "checking",
        ["holder_category"] = null,
    };

    private static readonly string[] TransactionKeys =
    [
        "account_id", "account_owner", "amount", "authorized_date", "authorized_datetime", "category", "category_id", "check_number",
        "counterparties", "date", "datetime", "iso_currency_code", "location", "logo_url", "merchant_entity_id", "merchant_name", "name",
        "original_description", "payment_channel", "payment_meta", "pending", "pending_transaction_id", "personal_finance_category",
        "personal_finance_category_icon_url", "transaction_code", "transaction_id", "transaction_type", "unofficial_currency_code", "website",
    ];

    private static readonly string[] PaymentMetaKeys = ["by_order_of", "payee", "payer", "payment_method", "payment_processor", "ppd_id", "reason", "reference_number"];

    private static readonly string[] LocationKeys = ["address", "city", "region", "postal_code", "country", "lat", "lon", "store_number"];

    /// <summary><c>26.10</c> → <c>26.1</c>, <c>100.00</c> → <c>100</c>: the same value, written as Plaid writes it (from the text, never a double).</summary>
    private static JsonNode? PlainNumber(JsonNode? amount)
    {
        if (amount is null)
        {
            return null;
        }
        var text = amount.ToJsonString();
        if (text.Contains('.', StringComparison.Ordinal) && !text.Contains('e', StringComparison.OrdinalIgnoreCase))
        {
            text = text.TrimEnd('0').TrimEnd('.');
        }
        return JsonNode.Parse(text == "-0" ? "0" : text);
    }
}

using System.Globalization;
using System.Text.Json.Nodes;
using Recon.Core.Ingestion.Statements;

namespace Recon.Sandbox.Plaid;

/// <summary>Builds transactions shaped like Plaid's (the fields Recon reads, plus the usual nulls).</summary>
public static class PlaidTransactionJson
{
    /// <summary>Plaid's sign: <c>outflowMinor</c> is positive when money leaves the account.</summary>
    public static JsonObject Create(string transactionId, string accountId, long outflowMinor, string currency, DateOnly date, string name,
        bool pending = false, string? pendingTransactionId = null, string? referenceNumber = null)
    {
        // the amount goes out as a JSON number written from the decimal text, never through a double
        var text = MinorUnits.FormatDecimal(Math.Abs(outflowMinor), currency);
        var amount = JsonNode.Parse(outflowMinor < 0 ? "-" + text : text)!;
        return new JsonObject
        {
            ["account_id"] = accountId,
            ["account_owner"] = null,
            ["amount"] = amount,
            ["iso_currency_code"] = currency,
            ["unofficial_currency_code"] = null,
            ["check_number"] = null,
            ["date"] = date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            ["authorized_date"] = date.AddDays(-1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            ["name"] = name,
            ["merchant_name"] = null,
            ["payment_channel"] = "other",
            ["payment_meta"] = new JsonObject { ["reference_number"] = referenceNumber, ["payee"] = null, ["payer"] = null },
            ["pending"] = pending,
            ["pending_transaction_id"] = pendingTransactionId,
            ["transaction_id"] = transactionId,
            ["transaction_code"] = null,
            ["transaction_type"] = "special",
        };
    }
}

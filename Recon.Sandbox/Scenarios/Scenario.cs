using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Recon.Core.Domain;
using Recon.Core.Ingestion.Statements;
using Recon.Sandbox.Admin;

namespace Recon.Sandbox.Scenarios;

/// <summary>One generated world: the internal ledger, what each provider holds, and the ground truth linking them.</summary>
/// <param name="Seed">Generator seed.</param>
/// <param name="Size">Generator size (about the number of business events).</param>
/// <param name="Ledger">Ledger entries to write to <c>ledger_entries</c>.</param>
/// <param name="StripeBalanceTransactions">Stripe balance transactions (with the sandbox-only <c>payout</c> link).</param>
/// <param name="StripeCharges">Stripe charges.</param>
/// <param name="StripePayouts">Stripe payouts.</param>
/// <param name="PlaidAccessToken">The Plaid item's access token in the sandbox.</param>
/// <param name="PlaidEvents">The Plaid item's change log (pending transactions are later removed and re-added posted).</param>
/// <param name="BankAStatements">Bank A (BAI2) statements, one per account and business day.</param>
/// <param name="BankBStatements">Bank B (camt.053) statements.</param>
/// <param name="Truth">For every provider transaction that ends live: the ledger entries it should match (none for duplicates and strays).</param>
public sealed record Scenario(
    int Seed,
    int Size,
    IReadOnlyList<LedgerEntry> Ledger,
    IReadOnlyList<JsonObject> StripeBalanceTransactions,
    IReadOnlyList<JsonObject> StripeCharges,
    IReadOnlyList<JsonObject> StripePayouts,
    string PlaidAccessToken,
    IReadOnlyList<PlaidEventDto> PlaidEvents,
    IReadOnlyList<BankStatement> BankAStatements,
    IReadOnlyList<BankStatement> BankBStatements,
    IReadOnlyList<TruthRow> Truth);

/// <summary>Which ledger entries one provider transaction should match; empty when it should match none.</summary>
public sealed record TruthRow(string Provider, string ProviderTxId, IReadOnlyList<string> LedgerIds);

/// <summary>The truth as CSV: <c>provider,provider_tx_id,ledger_ids</c>, ledger ids joined by ';', fields quoted when needed.</summary>
public static class TruthCsv
{
    public const string Header = "provider,provider_tx_id,ledger_ids";

    public static void Write(TextWriter writer, IEnumerable<TruthRow> rows)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(Header + "\n");
        foreach (var r in rows)
        {
            writer.Write($"{Quote(r.Provider)},{Quote(r.ProviderTxId)},{Quote(string.Join(';', r.LedgerIds))}\n");
        }
    }

    public static string ToCsv(IEnumerable<TruthRow> rows)
    {
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        Write(writer, rows);
        return writer.ToString();
    }

    /// <summary>Reads what <see cref="Write"/> wrote; a malformed line fails naming its number.</summary>
    public static IReadOnlyList<TruthRow> Read(string csv)
    {
        ArgumentNullException.ThrowIfNull(csv);
        var lines = csv.Split('\n');
        if (lines[0].TrimEnd('\r') != Header)
        {
            throw new FormatException($"truth CSV line 1: expected header '{Header}'");
        }
        var rows = new List<TruthRow>();
        for (var i = 1; i < lines.Length; i++)
        {
            var line = lines[i].TrimEnd('\r');
            if (line.Length == 0)
            {
                continue;
            }
            var fields = Split(line);
            if (fields.Count != 3)
            {
                throw new FormatException($"truth CSV line {i + 1}: expected 3 fields, found {fields.Count}");
            }
            rows.Add(new TruthRow(fields[0], fields[1], fields[2].Length == 0 ? [] : fields[2].Split(';')));
        }
        return rows;
    }

    private static string Quote(string value)
        => value.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;

    private static List<string> Split(string line)
    {
        var fields = new List<string>();
        var current = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.Length && line[i + 1] == '"')
                {
                    current.Append('"');
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    current.Append(c);
                }
            }
            else if (c == '"')
            {
                quoted = true;
            }
            else if (c == ',')
            {
                fields.Add(current.ToString());
                current.Clear();
            }
            else
            {
                current.Append(c);
            }
        }
        fields.Add(current.ToString());
        return fields;
    }
}

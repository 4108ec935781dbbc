using System.Globalization;
using System.Net;
using Recon.Core.Balances;
using Recon.Core.Hosting;

namespace Recon.Core.Reports;

/// <summary>
/// The reading side of the team's API on both hosts: <c>GET /api/balances</c> (the balance proof per bank account and
/// statement day). Validates the query ("field: reason", 400) and answers with the same codes and bodies on either host.
/// </summary>
public sealed class ReportIntake(BalanceStore balances)
{
    public async Task<HostReply> BalancesAsync(IReadOnlyDictionary<string, string?> query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var errors = Unknown(query, ["account", "day", "provider"]);
        var day = QueryValues.Date(query, "day", errors);
        if (errors.Count > 0)
        {
            return new HostReply(HttpStatusCode.BadRequest, new { errors });
        }
        var proofs = await balances.ProveAsync(new BalanceFilter(QueryValues.Get(query, "account"), day, QueryValues.Get(query, "provider")), withItems: true, cancellationToken)
            .ConfigureAwait(false);
        return new HostReply(HttpStatusCode.OK, new
        {
            items = proofs.Select(p => new
            {
                account = p.Account,
                provider = p.Provider,
                day = Day(p.Day),
                currency = p.Currency,
                statementClosingMinor = p.StatementClosingMinor,
                ledgerBalanceMinor = p.LedgerBalanceMinor,
                openProviderItems = p.OpenProviderItems!.Select(Item),
                openLedgerItems = p.OpenLedgerItems!.Select(Item),
                differenceMinor = p.DifferenceMinor,
                proved = p.Proved,
            }),
        });
    }

    private static object Item(OpenItem i) => new { id = i.Id, amountMinor = i.AmountMinor, description = i.Description, valueDate = Day(i.ValueDate) };

    private static string Day(DateOnly d) => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static List<string> Unknown(IReadOnlyDictionary<string, string?> query, string[] known)
        => query.Keys.Where(k => !known.Contains(k, StringComparer.Ordinal)).Select(k => $"{k}: unknown filter (expected {string.Join(", ", known)})").ToList();
}

/// <summary>Query-string values as the intakes read them: trimmed, empty as absent, bad ones as "key: reason".</summary>
internal static class QueryValues
{
    public static string? Get(IReadOnlyDictionary<string, string?> query, string key)
        => query.TryGetValue(key, out var v) && !string.IsNullOrWhiteSpace(v) ? v.Trim() : null;

    public static DateOnly? Date(IReadOnlyDictionary<string, string?> query, string key, List<string> errors)
    {
        var v = Get(query, key);
        if (v is null)
        {
            return null;
        }
        if (DateOnly.TryParseExact(v, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d))
        {
            return d;
        }
        errors.Add($"{key}: '{Clip(v)}' is not a date (YYYY-MM-DD)");
        return null;
    }

    public static long? Long(IReadOnlyDictionary<string, string?> query, string key, List<string> errors, long min = long.MinValue, long max = long.MaxValue)
    {
        var v = Get(query, key);
        if (v is null)
        {
            return null;
        }
        if (long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max)
        {
            return n;
        }
        errors.Add(min == long.MinValue ? $"{key}: '{Clip(v)}' is not an integer" : $"{key}: '{Clip(v)}' is not an integer in {min}..{max}");
        return null;
    }

    public static string Clip(string v) => v.Length <= 80 ? v : v[..80] + "…";
}

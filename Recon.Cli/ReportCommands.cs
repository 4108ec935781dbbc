using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Configuration;

namespace Recon.Cli;

/// <summary>The reading verbs through the running worker's API: <c>balances</c> (the balance proof per bank account and
/// day), the same answers the web page shows.</summary>
internal static class ReportCommands
{
    public const string BalancesUsage = "balances [--account A] [--day yyyy-MM-dd] [--provider P] [--json] [--worker URL]";

    public static async Task<int> BalancesAsync(string[] args, IConfiguration configuration)
    {
        var json = args.Contains("--json");
        var o = new CliArgs(args.Where(a => a != "--json").ToArray(), BalancesUsage, "--account", "--day", "--provider", "--worker");
        var (ok, body) = await ReviewCommands.SendAsync(configuration, o.Get("--worker"), HttpMethod.Get, "/api/balances" + Query(o, ("--account", "account"), ("--day", "day"), ("--provider", "provider")), null)
            .ConfigureAwait(false);
        if (!ok)
        {
            return ReviewCommands.Fail("balances", body);
        }
        if (json)
        {
            return ReviewCommands.Print(body);
        }
        using var doc = JsonDocument.Parse(body[(body.IndexOf(' ', StringComparison.Ordinal) + 1)..]);
        var items = doc.RootElement.GetProperty("items");
        if (items.GetArrayLength() == 0)
        {
            Console.WriteLine("no statement balances (a bank reconciliation stores them with each statement it fetches)");
        }
        var unproved = 0;
        foreach (var i in items.EnumerateArray())
        {
            var proved = i.GetProperty("proved").GetBoolean();
            unproved += proved ? 0 : 1;
            Console.WriteLine($"{i.GetProperty("provider").GetString()} {i.GetProperty("account").GetString()} {i.GetProperty("day").GetString()} {i.GetProperty("currency").GetString()}: {(proved ? "proved" : "NOT PROVED")}");
            Line("statement closing balance", i.GetProperty("statementClosingMinor").GetInt64());
            Side("less open provider items", i.GetProperty("openProviderItems"), -1);
            Side("plus open ledger items", i.GetProperty("openLedgerItems"), 1);
            Line("= explained ledger balance", i.GetProperty("ledgerBalanceMinor").GetInt64() - i.GetProperty("differenceMinor").GetInt64());
            Line("ledger balance", i.GetProperty("ledgerBalanceMinor").GetInt64());
            Line("difference (unexplained)", i.GetProperty("differenceMinor").GetInt64());
        }
        return unproved == 0 ? 0 : 3;
    }

    /// <summary><c>?key=value&amp;…</c> of the options given (empty when none).</summary>
    internal static string Query(CliArgs o, params (string Option, string Key)[] map)
    {
        var parts = map.Where(m => o.Get(m.Option) is not null).Select(m => $"{m.Key}={Uri.EscapeDataString(o.Get(m.Option)!)}").ToList();
        return parts.Count == 0 ? "" : "?" + string.Join('&', parts);
    }

    private static void Line(string label, long minor) => Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {label,-32} {minor,16}"));

    private static void Side(string label, JsonElement items, int sign)
    {
        var total = items.EnumerateArray().Sum(e => e.GetProperty("amountMinor").GetInt64());
        Line($"{label} ({items.GetArrayLength()})", sign * total);
        foreach (var e in items.EnumerateArray())
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"      {e.GetProperty("valueDate").GetString()} {e.GetProperty("id").GetString(),-24} {e.GetProperty("amountMinor").GetInt64(),12}  {e.GetProperty("description").GetString()}"));
        }
    }
}

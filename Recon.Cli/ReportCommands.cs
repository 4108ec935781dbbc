using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Configuration;

namespace Recon.Cli;

/// <summary>The reading verbs through the running worker's API: <c>balances</c> (the balance proof per bank account and
/// day), the same answers the web page shows.</summary>
internal static class ReportCommands
{
    public const string BalancesUsage = "balances [--account A] [--day yyyy-MM-dd] [--provider P] [--json] [--worker URL]";

    public const string ResultsUsage = "results [--run R] [--provider P] [--account A] [--outcome O] [--day yyyy-MM-dd] [--limit N] [--after CURSOR] [--worker URL] | "
        + "results export [--format csv|ndjson] [--out FILE] [the same filters]";

    public const string ReportUsage = "report daily --day yyyy-MM-dd [--format json|csv] | report run RUN_ID [--format json|csv] | report [--run ID]... (pipeline report)";

    private static readonly (string Option, string Key)[] ResultFilters =
        [("--run", "run"), ("--provider", "provider"), ("--account", "account"), ("--outcome", "outcome"), ("--day", "day")];

    /// <summary><c>results</c>: one page of verdicts as tab-separated lines; <c>results export</c>: all of them to a file.</summary>
    public static async Task<int> ResultsAsync(string[] args, IConfiguration configuration)
    {
        if (args.Length >= 1 && args[0] == "export")
        {
            var e = new CliArgs(args[1..], ResultsUsage, "--run", "--provider", "--account", "--outcome", "--day", "--format", "--out", "--worker");
            var query = Query(e, [.. ResultFilters, ("--format", "format")]);
            return await DownloadAsync(configuration, e.Get("--worker"), "/api/results/export" + query, e.Get("--out"), "results export").ConfigureAwait(false);
        }
        var o = new CliArgs(args, ResultsUsage, "--run", "--provider", "--account", "--outcome", "--day", "--limit", "--after", "--worker");
        var (ok, body) = await ReviewCommands.SendAsync(configuration, o.Get("--worker"), HttpMethod.Get, "/api/results" + Query(o, [.. ResultFilters, ("--limit", "limit"), ("--after", "after")]), null)
            .ConfigureAwait(false);
        if (!ok)
        {
            return ReviewCommands.Fail("results", body);
        }
        using var doc = JsonDocument.Parse(body[(body.IndexOf(' ', StringComparison.Ordinal) + 1)..]);
        Console.WriteLine("provider\tprovider_tx_id\taccount\tday\tamount_minor\tcurrency\toutcome\tscore\tledger_ids\trun_id\tetag");
        foreach (var i in doc.RootElement.GetProperty("items").EnumerateArray())
        {
            Console.WriteLine(string.Join('\t', i.GetProperty("provider").GetString(), i.GetProperty("providerTxId").GetString(), i.GetProperty("account").GetString(),
                i.GetProperty("day").GetString(), i.GetProperty("amountMinor").GetInt64().ToString(CultureInfo.InvariantCulture), i.GetProperty("currency").GetString(),
                i.GetProperty("outcome").GetString(), i.GetProperty("score").GetInt32().ToString(CultureInfo.InvariantCulture),
                string.Join(';', i.GetProperty("ledgerIds").EnumerateArray().Select(l => l.GetString())), i.GetProperty("runId").GetString(), i.GetProperty("etag").GetString()));
        }
        if (doc.RootElement.GetProperty("next").GetString() is { } next)
        {
            Console.WriteLine($"more: --after {next}");
        }
        return 0;
    }

    /// <summary><c>report daily|run</c> through the worker's API; anything else is the pipeline report read from PostgreSQL.</summary>
    public static async Task<int> ReportAsync(string[] args, IConfiguration configuration)
    {
        if (args.Length >= 1 && args[0] == "daily")
        {
            var o = new CliArgs(args[1..], ReportUsage, "--day", "--format", "--worker");
            o.Required("--day");
            return await DownloadAsync(configuration, o.Get("--worker"), "/api/reports/daily" + Query(o, ("--day", "day"), ("--format", "format")), null, "report daily").ConfigureAwait(false);
        }
        if (args.Length >= 2 && args[0] == "run")
        {
            var o = new CliArgs(args[2..], ReportUsage, "--format", "--worker");
            return await DownloadAsync(configuration, o.Get("--worker"), $"/api/reports/runs/{Uri.EscapeDataString(args[1])}" + Query(o, ("--format", "format")), null, "report run").ConfigureAwait(false);
        }
        return await ReportCommand.RunAsync(args, configuration).ConfigureAwait(false);
    }

    /// <summary>Streams an answer to <paramref name="outFile"/> (or standard output) as it arrives.</summary>
    private static async Task<int> DownloadAsync(IConfiguration configuration, string? worker, string path, string? outFile, string verb)
    {
        var baseUri = PipelineCli.WorkerUrl(configuration, worker);
        // an export of a large store takes as long as it takes: no overall timeout, the stream itself shows progress
        using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        await PipelineCli.EnsureWorkerAsync(http, baseUri).ConfigureAwait(false);
        using var response = await http.GetAsync(new Uri(baseUri, path), HttpCompletionOption.ResponseHeadersRead).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            return ReviewCommands.Fail(verb, $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync().ConfigureAwait(false)}");
        }
        await using var source = await response.Content.ReadAsStreamAsync().ConfigureAwait(false);
        if (outFile is null)
        {
            await using var stdout = Console.OpenStandardOutput();
            await source.CopyToAsync(stdout).ConfigureAwait(false);
            return 0;
        }
        // whole or nothing: written beside the target and moved over it at the end
        var partial = outFile + ".partial";
        await using (var file = File.Create(partial))
        {
            await source.CopyToAsync(file).ConfigureAwait(false);
        }
        File.Move(partial, outFile, overwrite: true);
        Console.Error.WriteLine($"recon {verb}: wrote {outFile} ({new FileInfo(outFile).Length.ToString("N0", CultureInfo.InvariantCulture)} bytes)");
        return 0;
    }

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

using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Configuration;

namespace Recon.Cli;

/// <summary>The review verbs: <c>exceptions list|resolve</c>, <c>match-confirm</c>, <c>unmatch</c>, through the running
/// worker's API (so the CLI and the web page take the same path, with the worker's checks, locks and audit; the actor is
/// the worker's <c>Recon:Review:Operator</c>).</summary>
internal static class ReviewCommands
{
    public const string ExceptionsUsage = "exceptions list [--provider P] [--account A] [--from D] [--to D] [--min-amount N] [--max-amount N] [--min-age-days N] [--limit N] [--after ID] [--worker URL] | exceptions resolve ID --reason CODE --etag E [--note TEXT] [--worker URL] | exceptions resolve-group --items ID:ETAG[,ID:ETAG...] --reason CODE [--note TEXT] [--worker URL]";
    public const string ConfirmUsage = "match-confirm --provider P --tx ID[,ID...] --etag E[,E...] [--ledger L[,L...]] [--note TEXT] [--worker URL]  (no --ledger: confirm the proposal) | match-confirm --min-score N [--provider P] [--account A] [--day D] [--run R] [--note TEXT]  (every proposal the filter selects, scored N or more)";
    public const string UnmatchUsage = "unmatch --provider P --tx ID --etag E [--note TEXT] [--worker URL]";

    public static async Task<int> ExceptionsAsync(string[] args, IConfiguration configuration)
    {
        if (args.Length >= 1 && args[0] == "list")
        {
            var o = new CliArgs(args[1..], ExceptionsUsage, "--provider", "--account", "--from", "--to", "--min-amount", "--max-amount", "--min-age-days", "--limit", "--after", "--worker");
            var query = new (string Option, string Key)[] { ("--provider", "provider"), ("--account", "account"), ("--from", "from"), ("--to", "to"), ("--min-amount", "minAmount"),
                ("--max-amount", "maxAmount"), ("--min-age-days", "minAgeDays"), ("--limit", "limit"), ("--after", "after") }
                .Where(q => o.Get(q.Option) is not null).Select(q => $"{q.Key}={Uri.EscapeDataString(o.Get(q.Option)!)}");
            var (ok, body) = await SendAsync(configuration, o.Get("--worker"), HttpMethod.Get, "/api/exceptions?" + string.Join('&', query), null).ConfigureAwait(false);
            if (!ok)
            {
                return Fail("exceptions list", body);
            }
            using var doc = JsonDocument.Parse(body[(body.IndexOf(' ', StringComparison.Ordinal) + 1)..]);
            Console.WriteLine("id\tkind\titem\taccount\tvalue_date\tamount_minor\tcurrency\treason\toutcome\tscore\tcandidates\tage_days\tetag");
            foreach (var i in doc.RootElement.GetProperty("items").EnumerateArray())
            {
                var item = i.GetProperty("kind").GetString() switch
                {
                    "ledger_entry" => i.GetProperty("ledgerId").GetString(),
                    "balance_unproved" => $"{i.GetProperty("provider").GetString()}:{i.GetProperty("account").GetString()}:{i.GetProperty("valueDate").GetString()}",
                    _ => $"{i.GetProperty("provider").GetString()}:{i.GetProperty("providerTxId").GetString()}",
                };
                var candidates = string.Join(';', i.GetProperty("candidates").EnumerateArray().Select(c => $"{c.GetProperty("id").GetString()}({c.GetProperty("amountMinor").GetInt64().ToString(CultureInfo.InvariantCulture)})"));
                Console.WriteLine(string.Join('\t', i.GetProperty("id").GetInt64().ToString(CultureInfo.InvariantCulture), i.GetProperty("kind").GetString(), item, i.GetProperty("account").GetString(),
                    i.GetProperty("valueDate").GetString(), i.GetProperty("amountMinor").GetInt64().ToString(CultureInfo.InvariantCulture), i.GetProperty("currency").GetString(),
                    i.GetProperty("reason").GetString(), i.GetProperty("outcome").ToString(), i.GetProperty("score").ToString(), candidates,
                    i.GetProperty("ageDays").GetInt32().ToString(CultureInfo.InvariantCulture), i.GetProperty("etag").GetString()));
            }
            if (doc.RootElement.GetProperty("next").GetString() is { } next)
            {
                Console.WriteLine($"more: --after {next}");
            }
            return 0;
        }
        if (args.Length >= 2 && args[0] == "resolve")
        {
            var o = new CliArgs(args[2..], ExceptionsUsage, "--reason", "--etag", "--note", "--worker");
            var payload = JsonSerializer.Serialize(new { reasonCode = o.Required("--reason"), note = o.Get("--note"), etag = o.Required("--etag") });
            var (ok, body) = await SendAsync(configuration, o.Get("--worker"), HttpMethod.Post, $"/api/exceptions/{Uri.EscapeDataString(args[1])}/resolve", payload).ConfigureAwait(false);
            return ok ? Print(body) : Fail("exceptions resolve", body);
        }
        if (args.Length >= 1 && args[0] == "resolve-group")
        {
            var o = new CliArgs(args[1..], ExceptionsUsage, "--items", "--reason", "--note", "--worker");
            var items = o.Required("--items").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(pair =>
            {
                var parts = pair.Split(':', 2);
                return parts.Length == 2 && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var id)
                    ? new { id, etag = parts[1] }
                    : throw new UsageException($"--items: '{pair}' is not ID:ETAG (both from exceptions list)");
            }).ToList();
            var payload = JsonSerializer.Serialize(new { items, reasonCode = o.Required("--reason"), note = o.Get("--note") });
            var (ok, body) = await SendAsync(configuration, o.Get("--worker"), HttpMethod.Post, "/api/exceptions/resolve", payload).ConfigureAwait(false);
            return ok ? Print(body) : Fail("exceptions resolve-group", body);
        }
        throw new UsageException($"usage: {ExceptionsUsage}");
    }

    public static async Task<int> ConfirmAsync(string[] args, IConfiguration configuration)
    {
        var o = new CliArgs(args, ConfirmUsage, "--provider", "--tx", "--etag", "--ledger", "--note", "--worker", "--min-score", "--account", "--day", "--run");
        if (o.Get("--min-score") is { } minScore)
        {
            if (o.Get("--tx") is not null || o.Get("--etag") is not null || o.Get("--ledger") is not null)
            {
                throw new UsageException("--min-score confirms by filter (--provider, --account, --day, --run): not with --tx, --etag or --ledger");
            }
            var bulk = JsonSerializer.Serialize(new
            {
                filter = new { run = o.Get("--run"), provider = o.Get("--provider"), account = o.Get("--account"), day = o.Get("--day") },
                minScore = int.TryParse(minScore, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : throw new UsageException($"--min-score: '{minScore}' is not an integer in 0..1000"),
                note = o.Get("--note"),
            });
            var (bulkOk, bulkBody) = await SendAsync(configuration, o.Get("--worker"), HttpMethod.Post, "/api/matches/confirm", bulk).ConfigureAwait(false);
            return bulkOk ? Print(bulkBody) : Fail("match-confirm", bulkBody);
        }
        var provider = o.Required("--provider");
        var txs = o.Required("--tx").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var etags = o.Required("--etag").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (txs.Length != etags.Length)
        {
            throw new UsageException($"--tx names {txs.Length} transactions but --etag has {etags.Length} etags: one each, in the same order (from exceptions list)");
        }
        var ledger = o.Get("--ledger")?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var payload = JsonSerializer.Serialize(new
        {
            transactions = txs.Zip(etags, (t, e) => new { provider, providerTxId = t, etag = e }),
            ledgerIds = ledger,
            note = o.Get("--note"),
        });
        var (ok, body) = await SendAsync(configuration, o.Get("--worker"), HttpMethod.Post, "/api/matches", payload).ConfigureAwait(false);
        return ok ? Print(body) : Fail("match-confirm", body);
    }

    public static async Task<int> UnmatchAsync(string[] args, IConfiguration configuration)
    {
        var o = new CliArgs(args, UnmatchUsage, "--provider", "--tx", "--etag", "--note", "--worker");
        var path = $"/api/matches/{Uri.EscapeDataString(o.Required("--provider"))}/{Uri.EscapeDataString(o.Required("--tx"))}?etag={Uri.EscapeDataString(o.Required("--etag"))}"
            + (o.Get("--note") is { } note ? $"&note={Uri.EscapeDataString(note)}" : "");
        var (ok, body) = await SendAsync(configuration, o.Get("--worker"), HttpMethod.Delete, path, null).ConfigureAwait(false);
        return ok ? Print(body) : Fail("unmatch", body);
    }

    internal static async Task<(bool Ok, string Body)> SendAsync(IConfiguration configuration, string? worker, HttpMethod method, string path, string? json)
    {
        var baseUri = PipelineCli.WorkerUrl(configuration, worker);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        await PipelineCli.EnsureWorkerAsync(http, baseUri).ConfigureAwait(false);
        using var request = new HttpRequestMessage(method, new Uri(baseUri, path));
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }
        using var response = await http.SendAsync(request).ConfigureAwait(false);
        var body = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
        return (response.IsSuccessStatusCode, $"{(int)response.StatusCode} {body}");
    }

    internal static int Print(string body)
    {
        Console.WriteLine(body[(body.IndexOf(' ', StringComparison.Ordinal) + 1)..]);
        return 0;
    }

    internal static int Fail(string verb, string body)
    {
        Console.Error.WriteLine($"recon {verb}: refused ({body})");
        return 1;
    }
}

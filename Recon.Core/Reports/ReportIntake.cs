using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Recon.Core.Balances;
using Recon.Core.Hosting;

namespace Recon.Core.Reports;

/// <summary>
/// The reading side of the team's API on both hosts: <c>GET /api/balances</c> (the balance proof per bank account and
/// statement day), <c>GET /api/results</c> (every verdict per item, paged), <c>GET /api/results/export</c> (all of them as
/// CSV or NDJSON, streamed), <c>GET /api/reports/daily</c> and <c>GET /api/reports/runs/{runId}</c>. Validates the query
/// ("field: reason", 400) and answers with the same codes and bodies on either host.
/// </summary>
public sealed class ReportIntake(BalanceStore balances, ResultStore results)
{
    /// <summary>Page size when the caller names none.</summary>
    public const int DefaultPageSize = 50;

    private static readonly string[] ResultFilters = ["run", "provider", "account", "outcome", "day"];

    private static readonly string[] ResultCsvColumns =
        ["provider", "provider_tx_id", "account", "day", "amount_minor", "currency", "outcome", "score", "ledger_ids", "reason", "rule", "difference_minor", "decided_by", "run_id", "batch_id", "evidence"];

    private static readonly string[] ReportCsvColumns =
        ["provider", "account", "currency", "matched_count", "matched_amount_minor", "proposed_count", "proposed_amount_minor", "open_count", "open_amount_minor", "undecided_count", "undecided_amount_minor"];

    /// <summary><c>GET /api/results?run=&amp;provider=&amp;account=&amp;outcome=&amp;day=&amp;limit=&amp;after=</c>: one page of verdicts,
    /// <c>next</c> the cursor of the following page (null on the last).</summary>
    public async Task<HostReply> ResultsAsync(IReadOnlyDictionary<string, string?> query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var errors = Unknown(query, [.. ResultFilters, "limit", "after"]);
        var filter = ResultFilterOf(query, errors);
        var limit = (int?)QueryValues.Long(query, "limit", errors, 1, ResultStore.MaxPageSize) ?? DefaultPageSize;
        ResultCursor? after = null;
        if (QueryValues.Get(query, "after") is { } cursor && (after = ResultCursor.TryDecode(cursor)) is null)
        {
            errors.Add($"after: '{QueryValues.Clip(cursor)}' is not a cursor (use the next of the previous page)");
        }
        if (errors.Count > 0)
        {
            return new HostReply(HttpStatusCode.BadRequest, new { errors });
        }
        var (rows, next) = await results.PageAsync(filter with { Limit = limit, After = after }, cancellationToken).ConfigureAwait(false);
        return new HostReply(HttpStatusCode.OK, new { items = rows.Select(Item), next = next?.Encode() });
    }

    /// <summary><c>GET /api/results/export?format=csv|ndjson&amp;…</c> (the filters of <see cref="ResultsAsync"/>): every
    /// verdict, streamed in key order.</summary>
    public HostReply Export(IReadOnlyDictionary<string, string?> query)
    {
        ArgumentNullException.ThrowIfNull(query);
        var errors = Unknown(query, [.. ResultFilters, "format"]);
        var filter = ResultFilterOf(query, errors);
        var format = Format(query, errors, "csv", "ndjson") ?? "csv";
        if (errors.Count > 0)
        {
            return new HostReply(HttpStatusCode.BadRequest, new { errors });
        }
        return new HostReply(HttpStatusCode.OK, format == "csv"
            ? new StreamedBody("text/csv", "results.csv", async (stream, ct) =>
            {
                await using var w = Writer(stream);
                await w.WriteLineAsync(string.Join(',', ResultCsvColumns)).ConfigureAwait(false);
                await foreach (var r in results.AllAsync(filter, ct).ConfigureAwait(false))
                {
                    await w.WriteLineAsync(Csv(r.Provider, r.ProviderTxId, r.Account, ResultStore.Day(r.Day), Num(r.AmountMinor), r.Currency, r.Outcome, Num(r.Score),
                        string.Join(';', r.LedgerIds), r.Reason, r.Rule, Num(r.DifferenceMinor), r.DecidedBy, r.RunId, r.BatchId, r.Evidence.GetRawText())).ConfigureAwait(false);
                }
            })
            : new StreamedBody("application/x-ndjson", "results.ndjson", async (stream, ct) =>
            {
                await using var w = Writer(stream);
                await foreach (var r in results.AllAsync(filter, ct).ConfigureAwait(false))
                {
                    await w.WriteLineAsync(JsonSerializer.Serialize(Item(r), HostReply.JsonOptions)).ConfigureAwait(false);
                }
            }));
    }

    /// <summary><c>GET /api/reports/daily?day=yyyy-MM-dd[&amp;format=json|csv]</c>.</summary>
    public async Task<HostReply> DailyAsync(IReadOnlyDictionary<string, string?> query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var errors = Unknown(query, ["day", "format"]);
        var day = QueryValues.Date(query, "day", errors);
        if (day is null && errors.Count == 0)
        {
            errors.Add("day: required (YYYY-MM-DD)");
        }
        var format = Format(query, errors, "json", "csv") ?? "json";
        if (errors.Count > 0)
        {
            return new HostReply(HttpStatusCode.BadRequest, new { errors });
        }
        var lines = await results.DailyAsync(day!.Value, cancellationToken).ConfigureAwait(false);
        return Report(lines, format, $"daily-{ResultStore.Day(day.Value)}.csv", new { day = ResultStore.Day(day.Value), items = lines.Select(Line) });
    }

    /// <summary><c>GET /api/reports/runs/{runId}[?format=json|csv]</c>; 404 for a run that does not exist.</summary>
    public async Task<HostReply> RunReportAsync(string runId, IReadOnlyDictionary<string, string?> query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var errors = Unknown(query, ["format"]);
        var format = Format(query, errors, "json", "csv") ?? "json";
        if (errors.Count > 0)
        {
            return new HostReply(HttpStatusCode.BadRequest, new { errors });
        }
        var lines = Pipeline.ReconciliationRequests.IsValidRunId(runId) ? await results.RunAsync(runId, cancellationToken).ConfigureAwait(false) : null;
        if (lines is null)
        {
            return new HostReply(HttpStatusCode.NotFound, new { error = $"no run '{QueryValues.Clip(runId)}'" });
        }
        return Report(lines, format, $"run-{runId}.csv", new { runId, items = lines.Select(Line) });
    }

    private static HostReply Report(List<ReportLine> lines, string format, string fileName, object json)
        => format == "csv"
            ? new HostReply(HttpStatusCode.OK, new StreamedBody("text/csv", fileName, async (stream, ct) =>
            {
                await using var w = Writer(stream);
                await w.WriteLineAsync(string.Join(',', ReportCsvColumns)).ConfigureAwait(false);
                foreach (var l in lines)
                {
                    await w.WriteLineAsync(Csv(l.Provider, l.Account, l.Currency, Num(l.MatchedCount), Num(l.MatchedMinor), Num(l.ProposedCount), Num(l.ProposedMinor),
                        Num(l.OpenCount), Num(l.OpenMinor), Num(l.UndecidedCount), Num(l.UndecidedMinor))).ConfigureAwait(false);
                }
            }))
            : new HostReply(HttpStatusCode.OK, json);

    private static object Line(ReportLine l) => new
    {
        provider = l.Provider,
        account = l.Account,
        currency = l.Currency,
        matched = new { count = l.MatchedCount, amountMinor = l.MatchedMinor },
        proposed = new { count = l.ProposedCount, amountMinor = l.ProposedMinor },
        open = new { count = l.OpenCount, amountMinor = l.OpenMinor },
        undecided = new { count = l.UndecidedCount, amountMinor = l.UndecidedMinor },
    };

    private static object Item(ResultRow r) => new
    {
        provider = r.Provider,
        providerTxId = r.ProviderTxId,
        account = r.Account,
        day = ResultStore.Day(r.Day),
        amountMinor = r.AmountMinor,
        currency = r.Currency,
        outcome = r.Outcome,
        score = r.Score,
        ledgerIds = r.LedgerIds,
        evidence = r.Evidence,
        runId = r.RunId,
        reason = r.Reason,
        rule = r.Rule,
        differenceMinor = r.DifferenceMinor,
        decidedBy = r.DecidedBy,
        batchId = r.BatchId,
        etag = r.Etag,
    };

    private static ResultFilter ResultFilterOf(IReadOnlyDictionary<string, string?> query, List<string> errors)
    {
        var outcome = QueryValues.Get(query, "outcome");
        if (outcome is not null && !ResultStore.Outcomes.Contains(outcome, StringComparer.Ordinal))
        {
            errors.Add($"outcome: '{QueryValues.Clip(outcome)}' is not one of {string.Join(", ", ResultStore.Outcomes)}");
        }
        return new ResultFilter(QueryValues.Get(query, "run"), QueryValues.Get(query, "provider"), QueryValues.Get(query, "account"), outcome,
            QueryValues.Date(query, "day", errors), DefaultPageSize, null);
    }

    private static string? Format(IReadOnlyDictionary<string, string?> query, List<string> errors, params string[] formats)
    {
        var format = QueryValues.Get(query, "format");
        if (format is not null && !formats.Contains(format, StringComparer.Ordinal))
        {
            errors.Add($"format: '{QueryValues.Clip(format)}' is not one of {string.Join(", ", formats)}");
            return null;
        }
        return format;
    }

    private static StreamWriter Writer(Stream stream) => new(stream, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), 64 * 1024, leaveOpen: true) { NewLine = "\n" };

    private static string Num(long n) => n.ToString(CultureInfo.InvariantCulture);

    /// <summary>One RFC 4180 record: a field with a comma, quote or line break is quoted, its quotes doubled.</summary>
    internal static string Csv(params string?[] fields)
        => string.Join(',', fields.Select(f => f is null ? "" : f.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + f.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : f));

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

    /// <summary>An integer in min..max, or null (absent, or bad: the reason added to <paramref name="errors"/>); an
    /// unbounded value's error names its <paramref name="unit"/> when given, e.g. "minor units".</summary>
    public static long? Long(IReadOnlyDictionary<string, string?> query, string key, List<string> errors, long min = long.MinValue, long max = long.MaxValue, string? unit = null)
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
        errors.Add(min == long.MinValue
            ? $"{key}: '{Clip(v)}' is not an integer{(unit is null ? "" : $" ({unit})")}"
            : $"{key}: '{Clip(v)}' is not an integer in {min}..{max}");
        return null;
    }

    public static string Clip(string v) => v.Length <= 80 ? v : v[..80] + "…";
}

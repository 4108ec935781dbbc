using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Abstractions;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Recon.Functions;
using Recon.Tests.Balances;
using Recon.Tests.Infrastructure;
using Recon.Tests.Pipeline;
using Recon.Worker;

namespace Recon.Tests.Hosting;

/// <summary>
/// Balances, results, reports and bulk actions through both hosts: the same requests sent to Recon.Worker over real HTTP
/// and to the Functions triggers, each host on its own database seeded alike. Every answer must be equal (status, body,
/// content type), and each database ends in the same state with an audit trail naming that host's actor.
/// </summary>
public sealed class ReportHostParityTests
{
    [Fact]
    public async Task Balances_BothHosts_AnswerTheSame_AndTheUnprovedDayIsAnException()
    {
        await using var stack = await PipelineStack.CreateAsync(seed: 77, size: 10);
        await using var functionsDb = new TestDatabase();
        await functionsDb.InitializeAsync();
        await ExecAsync(stack.Db.DataSource, "truncate exceptions, reconciliation_results, provider_transactions, ledger_entries, statement_balances restart identity");
        await ExecAsync(stack.Db.DataSource, BalanceProofTests.Seed);
        await ExecAsync(functionsDb.DataSource, BalanceProofTests.Seed);
        var worker = WorkerApp.Build([], settings: stack.Settings());
        await worker.StartAsync();
        try
        {
            var fSettings = stack.Settings();
            fSettings["Recon:Database:ConnectionString"] = functionsDb.ConnectionString;
            using var functionsHost = HostParityTests.BuildFunctionsHost(fSettings);
            var hosts = new FunctionsRoutes(functionsHost.Services);
            async Task<JsonElement> Both(string method, string path, string? body, HttpStatusCode expected)
            {
                var w = await ToWorkerAsync(stack, method, path, body);
                var f = await hosts.SendAsync(method, path, body);
                Assert.True(w.Status == f.Status, $"{method} {path}: worker {w.Status}, functions {f.Status}\n{w.Body}\n{f.Body}");
                Assert.True(Stable(w.Body) == Stable(f.Body), $"{method} {path}: bodies differ\nworker:    {w.Body}\nfunctions: {f.Body}");
                Assert.True(w.Status == expected, $"{method} {path}: {w.Status}, expected {expected}: {w.Body}");
                return JsonDocument.Parse(w.Body).RootElement.Clone();
            }

            var all = await Both("GET", "/api/balances", null, HttpStatusCode.OK);
            Assert.Equal([("2026-11-21", false, -100L), ("2026-11-20", true, 0L)], all.GetProperty("items").EnumerateArray()
                .Select(i => (i.GetProperty("day").GetString(), i.GetProperty("proved").GetBoolean(), i.GetProperty("differenceMinor").GetInt64())));
            var day = await Both("GET", "/api/balances?account=100200300&day=2026-11-20", null, HttpStatusCode.OK);
            var proof = Assert.Single(day.GetProperty("items").EnumerateArray());
            foreach (var name in new[] { "account", "provider", "day", "currency", "statementClosingMinor", "ledgerBalanceMinor", "openProviderItems", "openLedgerItems", "differenceMinor", "proved" })
            {
                Assert.True(proof.TryGetProperty(name, out _), $"the balances contract names {name}: {proof}");
            }
            Assert.Equal("L2", proof.GetProperty("openLedgerItems")[0].GetProperty("id").GetString());
            Assert.Empty((await Both("GET", "/api/balances?account=nope", null, HttpStatusCode.OK)).GetProperty("items").EnumerateArray());
            var bad = await Both("GET", "/api/balances?day=2026-02-30&colour=red", null, HttpStatusCode.BadRequest);
            Assert.Equal(2, bad.GetProperty("errors").GetArrayLength());

            var exceptions = await Both("GET", "/api/exceptions", null, HttpStatusCode.OK);
            var unproved = Assert.Single(exceptions.GetProperty("items").EnumerateArray());
            Assert.Equal(("balance_unproved", "2026-11-21", -100L), (unproved.GetProperty("kind").GetString(), unproved.GetProperty("valueDate").GetString(), unproved.GetProperty("amountMinor").GetInt64()));
        }
        finally
        {
            await worker.StopAsync();
            await worker.Services.GetRequiredService<Recon.Worker.Hosting.DurableHost>().DeleteHubAsync();
            await worker.DisposeAsync();
        }
    }

    /// <summary>The balance seed plus a Stripe run: three proposals (scores 850, 600, 900) with their exceptions, bank_a's
    /// verdicts posted by run-a (t2's exception open), Stripe's by run-b.</summary>
    internal const string ResultsSeed = BalanceProofTests.Seed + """
        insert into runs (run_id, request) values ('run-a', '{}'), ('run-b', '{}');
        insert into batches (batch_id, provider, account, priority, run_id) values ('b1', 'bank_a', '100200300', 5, 'run-a'), ('b2', 'stripe', 'acct_1', 5, 'run-b');
        update reconciliation_results set batch_id = 'b1';
        insert into ledger_entries (id, account, amount_minor, currency, value_date, description) values
            ('P1', 'stripe:sales', 1000, 'USD', '2026-11-20', 'order 1'), ('P2', 'stripe:sales', 2000, 'USD', '2026-11-20', 'order 2'),
            ('P3', 'stripe:sales', 3000, 'USD', '2026-11-20', 'order "3", gift');
        insert into provider_transactions (provider, provider_tx_id, account, amount_minor, currency, booking_date, value_date) values
            ('stripe', 'ch_1', 'acct_1', 1000, 'USD', '2026-11-20', '2026-11-20'), ('stripe', 'ch_2', 'acct_1', 2000, 'USD', '2026-11-20', '2026-11-20'),
            ('stripe', 'ch_3', 'acct_1', 3000, 'USD', '2026-11-20', '2026-11-20'), ('stripe', 'ch_4', 'acct_1', 4000, 'USD', '2026-11-20', '2026-11-20');
        insert into reconciliation_results (provider, provider_tx_id, ledger_ids, outcome, reason, score, difference_minor, rule, batch_id, evidence) values
            ('stripe', 'ch_1', '{P1}', 'proposed', 'BelowConfirmThreshold', 850, 0, 'amount_date', 'b2', '{"amount": 400, "date": 300, "key": 150}'),
            ('stripe', 'ch_2', '{P2}', 'proposed', 'BelowConfirmThreshold', 600, 0, 'amount_date', 'b2', '{"amount": 400, "date": 200}'),
            ('stripe', 'ch_3', '{P3}', 'proposed', 'BelowConfirmThreshold', 900, 0, 'amount_date', 'b2', '{"amount": 400, "date": 300, "key": 200}');
        insert into exceptions (kind, provider, provider_tx_id, reason, amount_minor, currency, batch_id, created_at) values
            ('provider_transaction', 'stripe', 'ch_1', 'BelowConfirmThreshold', 1000, 'USD', 'b2', '2026-11-20T10:00:00Z'),
            ('provider_transaction', 'stripe', 'ch_2', 'BelowConfirmThreshold', 2000, 'USD', 'b2', '2026-11-20T10:00:00Z'),
            ('provider_transaction', 'stripe', 'ch_3', 'BelowConfirmThreshold', 3000, 'USD', 'b2', '2026-11-20T10:00:00Z'),
            ('provider_transaction', 'bank_a', 't2', 'NoCandidate', -2500, 'USD', 'b1', '2026-11-20T10:00:00Z');
        """;

    [Fact]
    public async Task ResultsReportsAndBulkActions_BothHosts_AnswerTheSame_StaleItemsNamed_OneAuditEntryPerItem()
    {
        await using var stack = await PipelineStack.CreateAsync(seed: 78, size: 10);
        await using var functionsDb = new TestDatabase();
        await functionsDb.InitializeAsync();
        await ExecAsync(stack.Db.DataSource, "truncate exceptions, reconciliation_results, provider_transactions, ledger_entries, statement_balances, batches, runs restart identity");
        await ExecAsync(stack.Db.DataSource, ResultsSeed);
        await ExecAsync(functionsDb.DataSource, ResultsSeed);
        var settings = stack.Settings();
        settings["Recon:Review:Operator"] = "worker-operator";
        var worker = WorkerApp.Build([], settings: settings);
        await worker.StartAsync();
        try
        {
            var fSettings = stack.Settings();
            fSettings["Recon:Database:ConnectionString"] = functionsDb.ConnectionString;
            using var functionsHost = HostParityTests.BuildFunctionsHost(fSettings);
            var hosts = new FunctionsRoutes(functionsHost.Services);
            async Task<Answer> BothRaw(string method, string path, string? body, HttpStatusCode expected)
            {
                var w = await ToWorkerAsync(stack, method, path, body);
                var f = await hosts.SendAsync(method, path, body);
                Assert.True(w.Status == f.Status, $"{method} {path}: worker {w.Status}, functions {f.Status}\n{w.Body}\n{f.Body}");
                Assert.True(Stable(w.Body) == Stable(f.Body), $"{method} {path}: bodies differ\nworker:    {w.Body}\nfunctions: {f.Body}");
                Assert.True(w.ContentType == f.ContentType, $"{method} {path}: content types differ: {w.ContentType}, {f.ContentType}");
                Assert.True(w.Status == expected, $"{method} {path}: {w.Status}, expected {expected}: {w.Body}");
                return w;
            }
            async Task<JsonElement> Both(string method, string path, string? body, HttpStatusCode expected)
                => JsonDocument.Parse((await BothRaw(method, path, body, expected)).Body).RootElement.Clone();

            // results: every verdict with its evidence, filtered and keyset-paged
            var all = await Both("GET", "/api/results", null, HttpStatusCode.OK);
            Assert.Equal(["bank_a:t1", "bank_a:t2", "bank_a:t3", "bank_a:t4", "stripe:ch_1", "stripe:ch_2", "stripe:ch_3"],
                all.GetProperty("items").EnumerateArray().Select(i => $"{i.GetProperty("provider").GetString()}:{i.GetProperty("providerTxId").GetString()}"));
            Assert.Equal(JsonValueKind.Null, all.GetProperty("next").ValueKind);
            var ch1 = all.GetProperty("items")[4];
            foreach (var name in new[] { "provider", "providerTxId", "account", "day", "amountMinor", "currency", "outcome", "score", "ledgerIds", "evidence", "runId" })
            {
                Assert.True(ch1.TryGetProperty(name, out _), $"the results contract names {name}: {ch1}");
            }
            Assert.Equal(("run-b", 150, "P1"), (ch1.GetProperty("runId").GetString(), ch1.GetProperty("evidence").GetProperty("key").GetInt32(), ch1.GetProperty("ledgerIds")[0].GetString()));
            var page1 = await Both("GET", "/api/results?run=run-b&outcome=proposed&limit=2", null, HttpStatusCode.OK);
            Assert.Equal(["ch_1", "ch_2"], page1.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("providerTxId").GetString()));
            var page2 = await Both("GET", $"/api/results?run=run-b&outcome=proposed&limit=2&after={page1.GetProperty("next").GetString()}", null, HttpStatusCode.OK);
            Assert.Equal(["ch_3"], page2.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("providerTxId").GetString()));
            Assert.Equal(JsonValueKind.Null, page2.GetProperty("next").ValueKind);
            Assert.Single((await Both("GET", "/api/results?account=100200300&day=2026-11-20&outcome=unmatched", null, HttpStatusCode.OK)).GetProperty("items").EnumerateArray());
            var bad = await Both("GET", "/api/results?outcome=maybe&after=%%%&limit=0&day=x", null, HttpStatusCode.BadRequest);
            Assert.Equal(4, bad.GetProperty("errors").GetArrayLength());

            // export: the same verdicts as CSV (quoted where needed) and NDJSON, streamed
            var csv = await BothRaw("GET", "/api/results/export?provider=stripe", null, HttpStatusCode.OK);
            Assert.Equal("text/csv", csv.ContentType);
            var lines = csv.Body.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.StartsWith("provider,provider_tx_id,account,day,amount_minor,currency,outcome,score,ledger_ids", lines[0], StringComparison.Ordinal);
            Assert.Equal(4, lines.Length);
            Assert.StartsWith("stripe,ch_1,acct_1,2026-11-20,1000,USD,proposed,850,P1,BelowConfirmThreshold,amount_date,0,engine,run-b,b2,\"{", lines[1], StringComparison.Ordinal);
            var ndjson = await BothRaw("GET", "/api/results/export?format=ndjson&run=run-a", null, HttpStatusCode.OK);
            Assert.Equal("application/x-ndjson", ndjson.ContentType);
            Assert.Equal(["t1", "t2", "t3", "t4"], ndjson.Body.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("providerTxId").GetString()));
            await Both("GET", "/api/results/export?format=xml", null, HttpStatusCode.BadRequest);

            // reports: per day and per run, JSON and CSV
            var daily = await Both("GET", "/api/reports/daily?day=2026-11-20", null, HttpStatusCode.OK);
            var lineA = daily.GetProperty("items").EnumerateArray().Single(i => i.GetProperty("provider").GetString() == "bank_a");
            Assert.Equal((1L, 50_000L, 1L, 2_500L), (lineA.GetProperty("matched").GetProperty("count").GetInt64(), lineA.GetProperty("matched").GetProperty("amountMinor").GetInt64(),
                lineA.GetProperty("open").GetProperty("count").GetInt64(), lineA.GetProperty("open").GetProperty("amountMinor").GetInt64()));
            var lineS = daily.GetProperty("items").EnumerateArray().Single(i => i.GetProperty("provider").GetString() == "stripe");
            Assert.Equal((3L, 6_000L, 1L, 4_000L), (lineS.GetProperty("proposed").GetProperty("count").GetInt64(), lineS.GetProperty("proposed").GetProperty("amountMinor").GetInt64(),
                lineS.GetProperty("undecided").GetProperty("count").GetInt64(), lineS.GetProperty("undecided").GetProperty("amountMinor").GetInt64()));
            var dailyCsv = await BothRaw("GET", "/api/reports/daily?day=2026-11-20&format=csv", null, HttpStatusCode.OK);
            Assert.Equal(["provider,account,currency,matched_count,matched_amount_minor,proposed_count,proposed_amount_minor,open_count,open_amount_minor,undecided_count,undecided_amount_minor",
                "bank_a,100200300,USD,1,50000,0,0,1,2500,0,0", "stripe,acct_1,USD,0,0,3,6000,0,0,1,4000"], dailyCsv.Body.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            await Both("GET", "/api/reports/daily", null, HttpStatusCode.BadRequest);
            var run = await Both("GET", "/api/reports/runs/run-a", null, HttpStatusCode.OK);
            Assert.Equal(3L, run.GetProperty("items")[0].GetProperty("matched").GetProperty("count").GetInt64());
            await Both("GET", "/api/reports/runs/run-zzz", null, HttpStatusCode.NotFound);

            // bulk confirm above a score of the proposals shown: ch_1 (850) and ch_3 (900) confirmed, ch_2 (600) skipped
            var shown = (await Both("GET", "/api/results?outcome=proposed", null, HttpStatusCode.OK)).GetProperty("items").EnumerateArray().ToList();
            string Items(IEnumerable<JsonElement> items) => "[" + string.Join(',', items.Select(i =>
                $$"""{"provider":"{{i.GetProperty("provider").GetString()}}","providerTxId":"{{i.GetProperty("providerTxId").GetString()}}","etag":"{{i.GetProperty("etag").GetString()}}"}""")) + "]";
            var bulk = await Both("POST", "/api/matches/confirm", $$"""{"items":{{Items(shown)}},"minScore":800,"note":"bulk"}""", HttpStatusCode.OK);
            Assert.Equal(["ch_1", "ch_3"], bulk.GetProperty("confirmed").EnumerateArray().Select(i => i.GetProperty("providerTxId").GetString()));
            Assert.Equal(["ch_2"], bulk.GetProperty("skipped").EnumerateArray().Select(i => i.GetProperty("providerTxId").GetString()));
            // the same click again: ch_1 and ch_3 changed since shown (409, named); ch_2 still below the score
            var again = await Both("POST", "/api/matches/confirm", $$"""{"items":{{Items(shown)}},"minScore":800}""", HttpStatusCode.Conflict);
            Assert.Equal(["ch_1", "ch_3"], again.GetProperty("conflicts").EnumerateArray().Select(i => i.GetProperty("providerTxId").GetString()));
            Assert.Empty(again.GetProperty("confirmed").EnumerateArray());
            // by filter: what is proposed now at 500 or more (ch_2)
            var byFilter = await Both("POST", "/api/matches/confirm", """{"filter":{"provider":"stripe","day":"2026-11-20"},"minScore":500}""", HttpStatusCode.OK);
            Assert.Equal(["ch_2"], byFilter.GetProperty("confirmed").EnumerateArray().Select(i => i.GetProperty("providerTxId").GetString()));
            await Both("POST", "/api/matches/confirm", """{"items":[],"filter":{},"minScore":2000}""", HttpStatusCode.BadRequest);

            // resolve a group: the balance exception and t2's; one of them given a stale etag
            var open = (await Both("GET", "/api/exceptions", null, HttpStatusCode.OK)).GetProperty("items").EnumerateArray().ToList();
            var group = open.Select(i => (Id: i.GetProperty("id").GetInt64(), Etag: i.GetProperty("etag").GetString())).ToList();
            Assert.Equal(2, group.Count);
            var body = $$"""{"reasonCode":"timing_difference","note":"settles tomorrow","items":[{"id":{{group[0].Id}},"etag":"{{group[0].Etag}}"},{"id":{{group[1].Id}},"etag":"stale"}]}""";
            var resolved = await Both("POST", "/api/exceptions/resolve", body, HttpStatusCode.Conflict);
            Assert.Equal([group[0].Id], resolved.GetProperty("resolved").EnumerateArray().Select(i => i.GetInt64()));
            Assert.Equal([group[1].Id], resolved.GetProperty("conflicts").EnumerateArray().Select(i => i.GetProperty("id").GetInt64()));
            await Both("POST", "/api/exceptions/resolve", $$"""{"reasonCode":"timing_difference","items":[{"id":{{group[1].Id}},"etag":"{{group[1].Etag}}"}]}""", HttpStatusCode.OK);
            await Both("POST", "/api/exceptions/resolve", """{"reasonCode":"lost","items":[{"id":0}]}""", HttpStatusCode.BadRequest);

            foreach (var (db, actor) in new[] { (stack.Db.DataSource, "worker-operator"), (functionsDb.DataSource, "alice@contoso.example") })
            {
                Assert.Equal([$"{actor}|confirm_match|stripe:ch_1", $"{actor}|confirm_match|stripe:ch_3", $"{actor}|confirm_match|stripe:ch_2",
                    $"{actor}|resolve_exception|{(group[0].Id < group[1].Id ? "bank_a:t2" : "bank_a:100200300:2026-11-21")}",
                    $"{actor}|resolve_exception|{(group[0].Id < group[1].Id ? "bank_a:100200300:2026-11-21" : "bank_a:t2")}"],
                    await TestPolling.RowsAsync(db, "select actor, action, subject from audit_log order by id"));
                Assert.Equal(["ch_1|matched|manual", "ch_2|matched|manual", "ch_3|matched|manual"],
                    await TestPolling.RowsAsync(db, "select provider_tx_id, outcome, decided_by from reconciliation_results where provider = 'stripe' order by 1"));
            }
        }
        finally
        {
            await worker.StopAsync();
            await worker.Services.GetRequiredService<Recon.Worker.Hosting.DurableHost>().DeleteHubAsync();
            await worker.DisposeAsync();
        }
    }

    internal sealed record Answer(HttpStatusCode Status, string Body, string? ContentType);

    /// <summary>Exceptions opened during a session carry each database's own clock; everything else must be equal.</summary>
    internal static string Stable(string body) => System.Text.RegularExpressions.Regex.Replace(body, "\"(openedAt|at)\":\"[^\"]*\"", "\"$1\":\"-\"");

    internal static async Task<Answer> ToWorkerAsync(PipelineStack stack, string method, string path, string? body)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(stack.WorkerUrl, path));
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }
        using var response = await stack.Http.SendAsync(request);
        return new Answer(response.StatusCode, await response.Content.ReadAsStringAsync(), response.Content.Headers.ContentType?.MediaType);
    }

    /// <summary>Routes a request to the trigger the Functions host would (its routes are in the attributes).</summary>
    internal sealed class FunctionsRoutes(IServiceProvider services)
    {
        private readonly ReportFunctions _reports = ActivatorUtilities.CreateInstance<ReportFunctions>(services);
        private readonly ReviewFunctions _review = ActivatorUtilities.CreateInstance<ReviewFunctions>(services);

        public async Task<Answer> SendAsync(string method, string path, string? body)
        {
            var context = new DefaultHttpContext { RequestServices = services };
            var uri = new Uri("http://127.0.0.1" + path);
            context.Request.Method = method;
            context.Request.Path = uri.AbsolutePath;
            context.Request.QueryString = new QueryString(uri.Query);
            context.Request.Query = new QueryCollection(Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(uri.Query));
            context.Request.Headers[LedgerFunctions.PrincipalNameHeader] = "alice@contoso.example";
            context.Request.Body = new MemoryStream(Encoding.UTF8.GetBytes(body ?? ""));
            context.Response.Body = new MemoryStream();
            var s = uri.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries);
            IActionResult result = (method, s.Length > 1 ? s[1] : "", s.Length) switch
            {
                ("GET", "balances", 2) => await _reports.BalancesAsync(context.Request),
                ("GET", "results", 2) => await _reports.ResultsAsync(context.Request),
                ("GET", "results", 3) when s[2] == "export" => _reports.Export(context.Request),
                ("GET", "reports", 3) when s[2] == "daily" => await _reports.DailyAsync(context.Request),
                ("GET", "reports", 4) when s[2] == "runs" => await _reports.RunReportAsync(context.Request, s[3]),
                ("POST", "matches", 3) when s[2] == "confirm" => await _review.BulkConfirmAsync(context.Request),
                ("POST", "exceptions", 3) when s[2] == "resolve" => await _review.BulkResolveAsync(context.Request),
                ("GET", "exceptions", 2) => await _review.ListExceptionsAsync(context.Request),
                ("POST", "exceptions", 4) => await _review.ResolveAsync(context.Request, s[2]),
                ("GET", "audit", 2) => await _review.AuditAsync(context.Request),
                _ => throw new ArgumentException($"no Functions route for {method} {path}"),
            };
            await result.ExecuteResultAsync(new ActionContext(context, new RouteData(), new ActionDescriptor()));
            context.Response.Body.Position = 0;
            return new Answer((HttpStatusCode)context.Response.StatusCode, await new StreamReader(context.Response.Body).ReadToEndAsync(),
                context.Response.ContentType?.Split(';')[0]);
        }
    }

    internal static async Task ExecAsync(NpgsqlDataSource db, string sql)
    {
        await using var cmd = db.CreateCommand(sql);
        await cmd.ExecuteNonQueryAsync();
    }
}

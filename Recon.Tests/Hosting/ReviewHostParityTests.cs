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
using Recon.Tests.Infrastructure;
using Recon.Tests.Pipeline;
using Recon.Worker;

namespace Recon.Tests.Hosting;

/// <summary>
/// Exceptions worked, through both hosts: the same review session — list, filter, confirm a proposal, a stale confirm,
/// an N:1 manual match, resolve with a reason code (and again), unmatch with a wrong, missing and right etag — sent to
/// Recon.Worker over real HTTP and to the Functions triggers, each host on its own database seeded alike. Every answer
/// must be equal; each database ends with the same verdicts and an audit trail naming that host's actor.
/// </summary>
public sealed class ReviewHostParityTests
{
    internal const string Seed = """
        insert into ledger_entries (id, account, amount_minor, currency, value_date, reference) values
            ('L1', 'bank_a:main', 5000, 'USD', '2026-11-02', 'INV-1'), ('L2', 'bank_a:main', 900, 'USD', '2026-11-03', 'INV-2'),
            ('L3', 'bank_a:main', 42, 'USD', '2026-11-04', null);
        insert into provider_transactions (provider, provider_tx_id, account, amount_minor, currency, value_date) values
            ('bank_a', 't1', 'bank_a:main', 5000, 'USD', '2026-11-02'), ('bank_a', 't2', 'bank_a:main', 500, 'USD', '2026-11-03'),
            ('bank_a', 't3', 'bank_a:main', 400, 'USD', '2026-11-03');
        insert into reconciliation_results (provider, provider_tx_id, ledger_ids, outcome, reason, score, difference_minor, rule) values
            ('bank_a', 't1', '{L1}', 'proposed', 'BelowConfirmThreshold', 350, 0, 'amount_date'),
            ('bank_a', 't2', '{}', 'unmatched', 'NoCandidate', 0, 500, 'none'), ('bank_a', 't3', '{}', 'unmatched', 'NoCandidate', 0, 400, 'none');
        insert into exceptions (kind, provider, provider_tx_id, ledger_id, reason, amount_minor, currency, created_at) values
            ('provider_transaction', 'bank_a', 't1', null, 'BelowConfirmThreshold', 5000, 'USD', '2026-11-20T10:00:00Z'),
            ('provider_transaction', 'bank_a', 't2', null, 'NoCandidate', 500, 'USD', '2026-11-20T10:00:00Z'),
            ('provider_transaction', 'bank_a', 't3', null, 'NoCandidate', 400, 'USD', '2026-11-20T10:00:00Z'),
            ('ledger_entry', null, null, 'L2', 'NoCandidate', 900, 'USD', '2026-11-20T10:00:00Z'),
            ('ledger_entry', null, null, 'L3', 'NoCandidate', 42, 'USD', '2026-11-20T10:00:00Z');
        """;

    [Fact]
    public async Task SameReviewSession_BothHosts_AnswerTheSame_StaleActionsRefused_EveryActionAudited()
    {
        await using var stack = await PipelineStack.CreateAsync(seed: 75, size: 10);
        await using var functionsDb = new TestDatabase();
        await functionsDb.InitializeAsync();
        // the scenario's own rows would make the two databases differ: the worker's database starts from the same seed
        await ExecAsync(stack.Db.DataSource, "truncate exceptions, reconciliation_results, provider_transactions, ledger_entries restart identity");
        await ExecAsync(stack.Db.DataSource, Seed);
        await ExecAsync(functionsDb.DataSource, Seed);
        var settings = stack.Settings();
        settings["Recon:Review:Operator"] = "worker-operator";
        var worker = WorkerApp.Build([], settings: settings);
        await worker.StartAsync();
        try
        {
            var fSettings = stack.Settings();
            fSettings["Recon:Database:ConnectionString"] = functionsDb.ConnectionString;
            using var functionsHost = HostParityTests.BuildFunctionsHost(fSettings);
            var functions = ActivatorUtilities.CreateInstance<ReviewFunctions>(functionsHost.Services);
            async Task<JsonElement> Both(string method, string path, string? body, HttpStatusCode expected)
            {
                var w = await ToWorkerAsync(stack, method, path, body);
                var f = await ToFunctionsAsync(functions, method, path, body);
                Assert.True(w.Status == f.Status, $"{method} {path}: worker {w.Status}, functions {f.Status}\n{w.Body}\n{f.Body}");
                // exceptions opened during the session carry each database's own clock; everything else must be equal
                Assert.True(WithoutOpenedAt(w.Body) == WithoutOpenedAt(f.Body), $"{method} {path}: bodies differ\nworker:    {w.Body}\nfunctions: {f.Body}");
                Assert.True(w.Status == expected, $"{method} {path}: {w.Status}, expected {expected}: {w.Body}");
                return JsonDocument.Parse(w.Body).RootElement.Clone();
            }

            var list = await Both("GET", "/api/exceptions", null, HttpStatusCode.OK);
            var items = list.GetProperty("items").EnumerateArray().ToList();
            Assert.Equal(5, items.Count);
            var t1 = items.Single(i => i.GetProperty("providerTxId").GetString() == "t1");
            Assert.Equal("proposed", t1.GetProperty("outcome").GetString());
            Assert.Equal("L1", t1.GetProperty("candidates")[0].GetProperty("id").GetString());
            Assert.Equal(5000, t1.GetProperty("candidates")[0].GetProperty("amountMinor").GetInt64());
            string Etag(string key) => items.Single(i => (i.GetProperty("providerTxId").GetString() ?? i.GetProperty("ledgerId").GetString()) == key).GetProperty("etag").GetString()!;
            long Id(string key) => items.Single(i => (i.GetProperty("providerTxId").GetString() ?? i.GetProperty("ledgerId").GetString()) == key).GetProperty("id").GetInt64();

            // filters and paging
            var page = await Both("GET", "/api/exceptions?provider=bank_a&minAmount=450&limit=1", null, HttpStatusCode.OK);
            Assert.Equal("t1", page.GetProperty("items")[0].GetProperty("providerTxId").GetString());
            var next = page.GetProperty("next").GetString();
            var page2 = await Both("GET", $"/api/exceptions?provider=bank_a&minAmount=450&limit=1&after={next}", null, HttpStatusCode.OK);
            Assert.Equal("t2", page2.GetProperty("items")[0].GetProperty("providerTxId").GetString());
            await Both("GET", "/api/exceptions?minAmount=ten&from=2026-13-01&colour=red", null, HttpStatusCode.BadRequest);

            // confirm the proposal, then the same click again: stale
            var confirm = $$"""{"transactions":[{"provider":"bank_a","providerTxId":"t1","etag":"{{Etag("t1")}}"}],"note":"looks right"}""";
            var confirmed = await Both("POST", "/api/matches", confirm, HttpStatusCode.OK);
            Assert.Equal("confirm_match", confirmed.GetProperty("action").GetString());
            var stale = await Both("POST", "/api/matches", confirm, HttpStatusCode.Conflict);
            Assert.Contains("changed since it was shown", stale.GetProperty("error").GetString(), StringComparison.Ordinal);

            // N:1: two partial payments of one invoice; then L1 again (taken by t1): refused
            await Both("POST", "/api/matches", $$"""{"transactions":[{"provider":"bank_a","providerTxId":"t2","etag":"{{Etag("t2")}}"},{"provider":"bank_a","providerTxId":"t3","etag":"{{Etag("t3")}}"}],"ledgerIds":["L2"]}""", HttpStatusCode.OK);
            await Both("POST", "/api/matches", """{"transactions":[{"provider":"bank_a","providerTxId":"t1","etag":"x"},{"provider":"bank_a","providerTxId":"t2","etag":"y"}],"ledgerIds":["L1","L2"]}""", HttpStatusCode.BadRequest);

            // resolve L3 as written off; again: already resolved; a code that does not exist
            await Both("POST", $"/api/exceptions/{Id("L3")}/resolve", $$"""{"reasonCode":"written_off","note":"below threshold","etag":"{{Etag("L3")}}"}""", HttpStatusCode.OK);
            await Both("POST", $"/api/exceptions/{Id("L3")}/resolve", $$"""{"reasonCode":"written_off","etag":"{{Etag("L3")}}"}""", HttpStatusCode.Conflict);
            await Both("POST", $"/api/exceptions/{Id("L2")}/resolve", """{"reasonCode":"lost","etag":"e"}""", HttpStatusCode.BadRequest);
            await Both("POST", "/api/exceptions/999999/resolve", """{"reasonCode":"other","note":"n","etag":"e"}""", HttpStatusCode.NotFound);

            // unmatch t1: the verdict's etag from GET /api/matches; wrong and missing etags are refused
            var verdict = await Both("GET", "/api/matches/bank_a/t1", null, HttpStatusCode.OK);
            Assert.Equal("matched", verdict.GetProperty("outcome").GetString());
            await Both("DELETE", "/api/matches/bank_a/t1?etag=wrong", null, HttpStatusCode.Conflict);
            await Both("DELETE", "/api/matches/bank_a/t1", null, HttpStatusCode.BadRequest);
            await Both("DELETE", $"/api/matches/bank_a/t1?etag={verdict.GetProperty("etag").GetString()}&note=wrong+invoice", null, HttpStatusCode.OK);
            await Both("GET", "/api/matches/bank_a/nope", null, HttpStatusCode.NotFound);

            var remaining = await Both("GET", "/api/exceptions", null, HttpStatusCode.OK);
            Assert.Equal(["t1", "L1"], remaining.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("providerTxId").GetString() ?? i.GetProperty("ledgerId").GetString()));
            foreach (var (db, actor) in new[] { (stack.Db.DataSource, "worker-operator"), (functionsDb.DataSource, "alice@contoso.example") })
            {
                Assert.Equal(["t1|unmatched|manual|", "t2|matched|manual|L2", "t3|matched|manual|L2"],
                    await TestPolling.RowsAsync(db, "select provider_tx_id, outcome, decided_by, array_to_string(ledger_ids, ';') from reconciliation_results order by 1"));
                Assert.Equal([$"{actor}|confirm_match|bank_a:t1", $"{actor}|manual_match|bank_a:t2,bank_a:t3", $"{actor}|resolve_exception|L3", $"{actor}|manual_unmatch|bank_a:t1"],
                    await TestPolling.RowsAsync(db, "select actor, action, subject from audit_log order by id"));
                Assert.Equal(["L3|written_off|below threshold"], await TestPolling.RowsAsync(db, $"select ledger_id, resolution_code, resolution_note from exceptions where resolved_by = '{actor}' and resolution_code <> 'matched'"));
            }
        }
        finally
        {
            await worker.StopAsync();
            await worker.Services.GetRequiredService<Recon.Worker.Hosting.DurableHost>().DeleteHubAsync();
            await worker.DisposeAsync();
        }
    }

    private sealed record Answer(HttpStatusCode Status, string Body);

    private static string WithoutOpenedAt(string body) => System.Text.RegularExpressions.Regex.Replace(body, "\"openedAt\":\"[^\"]*\"", "\"openedAt\":\"-\"");

    private static async Task<Answer> ToWorkerAsync(PipelineStack stack, string method, string path, string? body)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(stack.WorkerUrl, path));
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }
        using var response = await stack.Http.SendAsync(request);
        return new Answer(response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Routes <paramref name="path"/> to the trigger the Functions host would (its routes are in the attributes).</summary>
    private static async Task<Answer> ToFunctionsAsync(ReviewFunctions functions, string method, string path, string? body)
    {
        var context = new DefaultHttpContext();
        var uri = new Uri("http://127.0.0.1" + path);
        context.Request.Method = method;
        context.Request.Path = uri.AbsolutePath;
        context.Request.QueryString = new QueryString(uri.Query);
        context.Request.Query = new QueryCollection(Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(uri.Query));
        context.Request.Headers[LedgerFunctions.PrincipalNameHeader] = "alice@contoso.example";
        context.Request.Body = new MemoryStream(Encoding.UTF8.GetBytes(body ?? ""));
        context.Response.Body = new MemoryStream();
        var segments = uri.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        IActionResult result = (method, segments[1], segments.Length) switch
        {
            ("GET", "exceptions", 2) => await functions.ListExceptionsAsync(context.Request),
            ("POST", "exceptions", 4) => await functions.ResolveAsync(context.Request, segments[2]),
            ("POST", "matches", 2) => await functions.MatchAsync(context.Request),
            ("GET", "matches", 4) => await functions.VerdictAsync(context.Request, segments[2], segments[3]),
            ("DELETE", "matches", 4) => await functions.UnmatchAsync(context.Request, segments[2], segments[3]),
            ("GET", "audit", 2) => await functions.AuditAsync(context.Request),
            _ => throw new ArgumentException($"no Functions route for {method} {path}"),
        };
        await result.ExecuteResultAsync(new ActionContext(context, new RouteData(), new ActionDescriptor()));
        context.Response.Body.Position = 0;
        return new Answer((HttpStatusCode)context.Response.StatusCode, await new StreamReader(context.Response.Body).ReadToEndAsync());
    }

    private static async Task ExecAsync(NpgsqlDataSource db, string sql)
    {
        await using var cmd = db.CreateCommand(sql);
        await cmd.ExecuteNonQueryAsync();
    }

}

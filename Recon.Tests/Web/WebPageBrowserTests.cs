using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Abstractions;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Npgsql;
using Recon.Core.Domain;
using Recon.Core.Web;
using Recon.Functions;
using Recon.Sandbox.Scenarios;
using Recon.Tests.Hosting;
using Recon.Tests.Infrastructure;
using Recon.Tests.Pipeline;
using Recon.Worker;
using Xunit.Abstractions;

namespace Recon.Tests.Web;

/// <summary>
/// The web page end to end, in Debian's chromium driven by Playwright, against the real Worker on the real stack: a ledger
/// imported through the API, a bank reconciliation run against the sandbox, then in the page the runs overview and run
/// report, a proposal confirmed and an exception matched by hand, both actions in the audit trail, and the balance proof.
/// Every step is checked on the screen and then in the database or the API.
/// </summary>
public sealed class WebPageBrowserTests(ITestOutputHelper output)
{
    /// <summary>Debian's chromium, which <c>./recon test</c> installs; Playwright's own browser download cannot run here.</summary>
    public const string Chromium = "/usr/bin/chromium";

    private const string Operator = "web-test-operator";
    private const string Key = "page-test-key";

    // a scenario whose bank A statements give proposals (reference typos) besides plain matches
    private const int Seed = 15;
    private const int Size = 160;

    [Fact]
    public async Task Page_ImportRunConfirmAndMatch_ShowsEachStep_DatabaseAndAuditAgree()
    {
        AssertBrowserInstalled();
        await using var stack = await PipelineStack.CreateAsync(Seed, Size);
        var settings = stack.Settings();
        settings["Recon:Review:Operator"] = Operator;
        var worker = WorkerApp.Build([], settings: settings);
        await worker.StartAsync();
        try
        {
            // the ledger as a new user brings it: through POST /api/ledger-entries, not the scenario loader's rows. One bank A
            // entry is booked 30 days late under another id, so its transaction stays open for a person to match by hand.
            var (late, lateTx) = PickLateEntry(stack);
            var ledger = stack.Scenario.Ledger.Where(e => e.Id != late.Id)
                .Append(late with { Id = late.Id + "-late", ValueDate = late.ValueDate.AddDays(30), Reference = null, ExternalRef = null })
                .ToList();
            await ExecAsync(stack.Db.DataSource, "delete from ledger_entries");
            using (var import = await stack.Http.PostAsync(new Uri(stack.WorkerUrl, "/api/ledger-entries"),
                new StringContent(JsonSerializer.Serialize(ledger, new JsonSerializerOptions(JsonSerializerDefaults.Web)), Encoding.UTF8, "application/json")))
            {
                Assert.True(import.StatusCode == HttpStatusCode.OK, await import.Content.ReadAsStringAsync());
            }
            Assert.Equal(ledger.Count, await stack.ScalarAsync("select count(*) from ledger_entries"));

            var request = stack.Requests(pageSize: 50, runPrefix: "web" + Guid.NewGuid().ToString("N")[..6], Providers.BankA).Single();
            var runId = await stack.SubmitAsync(request);
            var counts = await stack.WaitForRunsAsync([runId], TimeSpan.FromMinutes(5));
            Assert.Equal(counts.Total, counts.Count("done"));

            // what a person will act on, chosen from the database: the first open proposal, and the late entry's transaction
            var proposal = (await TestPolling.RowsAsync(stack.Db.DataSource, """
                select e.provider_tx_id, pt.account, pt.value_date::text, array_to_string(r.ledger_ids, ','), e.amount_minor, e.currency
                from exceptions e join reconciliation_results r using (provider, provider_tx_id)
                join provider_transactions pt using (provider, provider_tx_id)
                where e.status = 'open' and e.provider = 'bank_a' and r.outcome = 'proposed' order by e.id limit 1
                """)).SingleOrDefault();
            Assert.True(proposal is not null, $"scenario {Seed}/{Size} left no bank A proposal: {string.Join(", ", await TestPolling.RowsAsync(stack.Db.DataSource, "select outcome, count(*) from reconciliation_results group by 1"))}");
            var p = proposal.Split('|');
            var (pTx, account, pDay, pLedger, pAmount, pCurrency) = (p[0], p[1], p[2], p[3], long.Parse(p[4], CultureInfo.InvariantCulture), p[5].Trim());
            Assert.Equal(["open"], await TestPolling.RowsAsync(stack.Db.DataSource, $"select status from exceptions where provider = 'bank_a' and provider_tx_id = '{lateTx}'"));
            var lateDay = (await TestPolling.RowsAsync(stack.Db.DataSource, $"select value_date::text from provider_transactions where provider = 'bank_a' and provider_tx_id = '{lateTx}'")).Single();

            var shots = ScreenshotFolder();
            using var playwright = await Playwright.CreateAsync();
            await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = Chromium,
                Headless = true,
                // root in a container: chromium's sandbox needs user namespaces it does not get here
                Args = ["--no-sandbox"],
            });
            var context = await browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 900 } });
            var page = await context.NewPageAsync();
            var keysSent = new List<string?>();
            page.Request += (_, r) =>
            {
                if (new Uri(r.Url).AbsolutePath.StartsWith("/api/", StringComparison.Ordinal) && !new Uri(r.Url).AbsolutePath.StartsWith(WebPage.Path, StringComparison.Ordinal))
                {
                    lock (keysSent)
                    {
                        keysSent.Add(r.Headers.GetValueOrDefault("x-functions-key"));
                    }
                }
            };
            var consoleErrors = new List<string>();
            page.Console += (_, m) =>
            {
                if (m.Type == "error")
                {
                    consoleErrors.Add(m.Text);
                }
            };

            // runs overview: the run with its batches by status, then its report
            await page.GotoAsync(stack.WorkerUrl.ToString());
            await page.FillAsync("#key", Key);
            await page.ClickAsync("#key-form button");
            await Assertions.Expect(page.Locator("#key-state")).ToHaveTextAsync("key set");
            var runRow = page.Locator($"#runs-list tr[data-run='{runId}']");
            await Assertions.Expect(runRow).ToBeVisibleAsync();
            await Assertions.Expect(page.Locator("#runs-status dd[data-status='done']")).ToHaveTextAsync(counts.Count("done").ToString(CultureInfo.InvariantCulture));
            await Assertions.Expect(page.Locator("#runs-calls tr[data-provider='bank_a'] td[data-field='throttled']"))
                .ToHaveTextAsync((await stack.ScalarAsync($"select coalesce(sum(throttled), 0) from batches where run_id = '{runId}'")).ToString(CultureInfo.InvariantCulture));
            await Assertions.Expect(page.Locator("#runs-connections dd[data-field='serverConnections']")).ToContainTextAsync(" of ");
            await runRow.Locator("button").ClickAsync();
            var reportRow = page.Locator("#run-report-results tr[data-provider='bank_a'] td");
            var results = await TestPolling.RowsAsync(stack.Db.DataSource, "select count(*), count(*) filter (where outcome = 'matched'), count(*) filter (where outcome = 'proposed') from reconciliation_results where provider = 'bank_a'");
            var r = results.Single().Split('|');
            await Assertions.Expect(reportRow.Nth(1)).ToHaveTextAsync(r[0]);
            await Assertions.Expect(reportRow.Nth(2)).ToHaveTextAsync(r[1]);
            await Assertions.Expect(reportRow.Nth(3)).ToHaveTextAsync(r[2]);
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "runs.png"), FullPage = true });

            // review queue: confirm the proposal with one click
            await page.ClickAsync("nav a[data-screen='review']");
            await FilterReviewAsync(page, account, pDay);
            var pRow = page.Locator($"#review-list tr[data-item='bank_a:{pTx}']");
            await Assertions.Expect(pRow).ToBeVisibleAsync();
            await Assertions.Expect(pRow.Locator("td[data-field='amount']")).ToHaveTextAsync(Money(pAmount, pCurrency));
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "review.png"), FullPage = true });
            await pRow.Locator("button[data-action='confirm']").ClickAsync();
            await Assertions.Expect(page.Locator("#message")).ToHaveTextAsync($"Confirmed bank_a:{pTx} → {pLedger.Replace(",", ", ", StringComparison.Ordinal)}");
            await Assertions.Expect(pRow).ToHaveCountAsync(0);
            Assert.Equal([$"matched|manual|{pLedger}|resolved"], await TestPolling.RowsAsync(stack.Db.DataSource,
                $"select r.outcome, r.decided_by, array_to_string(r.ledger_ids, ','), e.status from reconciliation_results r join exceptions e using (provider, provider_tx_id) where r.provider = 'bank_a' and r.provider_tx_id = '{pTx}'"));

            // review queue: match the late entry's transaction by hand
            await FilterReviewAsync(page, account, lateDay);
            var tRow = page.Locator($"#review-list tr[data-item='bank_a:{lateTx}']");
            await tRow.Locator("input[name='ledgerIds']").FillAsync(late.Id + "-late");
            await tRow.Locator("button[data-action='match']").ClickAsync();
            await Assertions.Expect(page.Locator("#message")).ToHaveTextAsync($"Matched bank_a:{lateTx} → {late.Id}-late");
            await Assertions.Expect(tRow).ToHaveCountAsync(0);
            Assert.Equal([$"matched|manual|{late.Id}-late|resolved"], await TestPolling.RowsAsync(stack.Db.DataSource,
                $"select r.outcome, r.decided_by, array_to_string(r.ledger_ids, ','), e.status from reconciliation_results r join exceptions e using (provider, provider_tx_id) where r.provider = 'bank_a' and r.provider_tx_id = '{lateTx}'"));
            Assert.Empty(await TestPolling.RowsAsync(stack.Db.DataSource, $"select id from exceptions where kind = 'ledger_entry' and ledger_id = '{late.Id}-late' and status = 'open'"));

            // audit trail: both actions, by the configured operator, on screen and in the API
            await page.ClickAsync("nav a[data-screen='audit']");
            var confirmRow = page.Locator($"#audit-list tr[data-action='confirm_match'][data-subject='bank_a:{pTx}']");
            var matchRow = page.Locator($"#audit-list tr[data-action='manual_match'][data-subject='bank_a:{lateTx}']");
            await Assertions.Expect(confirmRow).ToBeVisibleAsync();
            await Assertions.Expect(matchRow).ToBeVisibleAsync();
            await Assertions.Expect(confirmRow.Locator("td").Nth(2)).ToHaveTextAsync(Operator);
            await Assertions.Expect(matchRow.Locator("td").Nth(2)).ToHaveTextAsync(Operator);
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "audit.png"), FullPage = true });
            var audit = await stack.Http.GetFromJsonAsync<JsonElement>(new Uri(stack.WorkerUrl, "/api/audit?limit=10"));
            Assert.Equal([$"{Operator}|manual_match|bank_a:{lateTx}", $"{Operator}|confirm_match|bank_a:{pTx}"],
                audit.GetProperty("items").EnumerateArray().Take(2).Select(a => $"{a.GetProperty("actor")}|{a.GetProperty("action")}|{a.GetProperty("subject")}"));

            // balance proof of the proposal's account and day: the proof when the host has /api/balances, else its error, said plainly
            await page.ClickAsync("nav a[data-screen='balances']");
            await page.FillAsync("#balances-filter input[name='account']", account);
            await page.FillAsync("#balances-filter input[name='day']", pDay);
            await page.ClickAsync("#balances-filter button");
            using var balances = await stack.Http.GetAsync(new Uri(stack.WorkerUrl, $"/api/balances?account={Uri.EscapeDataString(account)}&day={pDay}"));
            if (balances.StatusCode == HttpStatusCode.OK)
            {
                var items = (await balances.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("items");
                Assert.True(items.GetArrayLength() > 0, $"no balance proof for {account} on {pDay}");
                var first = items[0];
                var proof = page.Locator($".proof[data-account='{first.GetProperty("account").GetString()}'][data-day='{pDay}']").First;
                await Assertions.Expect(proof.Locator("[data-field='proved']")).ToHaveTextAsync(first.GetProperty("proved").GetBoolean() ? "proved" : "does not prove");
                await Assertions.Expect(proof.Locator("[data-field='statement']"))
                    .ToHaveTextAsync(Money(first.GetProperty("statementClosingMinor").GetInt64(), first.GetProperty("currency").GetString()!));
            }
            else
            {
                output.WriteLine($"GET /api/balances answered {(int)balances.StatusCode}: the page shows the endpoint's error");
                await Assertions.Expect(page.Locator("#balances-error")).ToContainTextAsync($"GET /api/balances?account={Uri.EscapeDataString(account)}&day={pDay} → {(int)balances.StatusCode}");
            }
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "balances.png"), FullPage = true });

            // every data call carried the key the user entered (the worker has no auth of its own; the Functions app checks it)
            lock (keysSent)
            {
                // the first call is the runs overview loading before the key was entered
                Assert.True(keysSent.Count > 5, $"{keysSent.Count} data calls");
                Assert.Null(keysSent[0]);
                Assert.All(keysSent.Skip(1), k => Assert.Equal(Key, k));
            }
            // the only console errors allowed are the failed fetches the page reported (a missing /api/balances)
            Assert.All(consoleErrors, e => Assert.Contains("404", e, StringComparison.Ordinal));

            await BothHostsServeTheSamePageAndRunsAsync(stack, runId);
        }
        finally
        {
            await worker.StopAsync();
            await worker.Services.GetRequiredService<Recon.Worker.Hosting.DurableHost>().DeleteHubAsync();
            await worker.DisposeAsync();
        }
    }

    /// <summary>Money as the page must show it, computed apart from the page's code: minor units over 10^exponent.</summary>
    [Fact]
    public async Task FormatMoney_InBrowser_UsesEachCurrencysMinorUnits_Exactly()
    {
        AssertBrowserInstalled();
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = Chromium, Headless = true, Args = ["--no-sandbox"] });
        var page = await browser.NewPageAsync();
        await page.SetContentAsync("<!doctype html><html><body></body></html>");
        await page.AddScriptTagAsync(new PageAddScriptTagOptions { Content = Encoding.UTF8.GetString(WebPage.Find("app.js")!.Content) });
        (long Minor, string Currency)[] cases = [(0, "USD"), (5, "USD"), (-5, "USD"), (123_456, "USD"), (-100_000_000_01, "EUR"), (1_234_567, "JPY"), (-1, "JPY"),
            (1_234_567, "BHD"), (7, "KWD"), (99, "XYZ"), (9_007_199_254_740_991, "USD")];
        foreach (var (minor, currency) in cases)
        {
            var shown = await page.EvaluateAsync<string>("([m, c]) => formatMoney(m, c)", new object[] { minor, currency });
            Assert.Equal(Money(minor, currency), shown);
        }
        // the page knows the same reason codes as the store
        var codes = await page.EvaluateAsync<string[]>("() => RESOLUTION_CODES");
        Assert.Equal(Recon.Core.Review.ReviewStore.ResolutionCodes, codes);
    }

    /// <summary>
    /// The balance screen renders the <c>GET /api/balances</c> contract (issue 15: statement closing, ledger balance, open items
    /// on each side, difference, proved) per currency, and a 401 says the key is wrong. The page's own bytes are served from
    /// <see cref="WebPage"/>; only the API answers are given here, because no host serves <c>/api/balances</c> yet — the
    /// end-to-end test above checks the real endpoint as soon as one does.
    /// </summary>
    [Fact]
    public async Task BalanceProof_ContractAnswer_RenderedPerCurrency_And401SaysTheKeyIsWrong()
    {
        AssertBrowserInstalled();
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = Chromium, Headless = true, Args = ["--no-sandbox"] });
        var page = await browser.NewPageAsync();
        const string balances = """
            {"items":[
              {"account":"bank_b:DE89","provider":"bank_b","day":"2025-06-09","currency":"EUR","statementClosingMinor":1250075,"ledgerBalanceMinor":1200000,
               "openProviderItems":[{"id":"bank_b/REF-1","amountMinor":50075,"description":"SEPA from ACME"}],"openLedgerItems":[],"differenceMinor":0,"proved":true},
              {"account":"jp:1","provider":"bank_a","day":"2025-06-09","currency":"JPY","statementClosingMinor":-1500,"ledgerBalanceMinor":1000,
               "openProviderItems":[],"openLedgerItems":[{"id":"L9","amountMinor":-2000,"description":null}],"differenceMinor":-500,"proved":false}]}
            """;
        string? asked = null;
        await page.RouteAsync("http://recon.test/**", async route =>
        {
            var path = new Uri(route.Request.Url).AbsolutePath;
            if (path == "/" || path.StartsWith(WebPage.Path + "/", StringComparison.Ordinal))
            {
                var asset = WebPage.Find(path == "/" ? null : path[(WebPage.Path.Length + 1)..])!;
                await route.FulfillAsync(new RouteFulfillOptions { Status = 200, ContentType = asset.ContentType, BodyBytes = asset.Content });
            }
            else if (path == "/api/balances")
            {
                asked = new Uri(route.Request.Url).Query;
                await route.FulfillAsync(new RouteFulfillOptions { Status = 200, ContentType = "application/json", Body = balances });
            }
            else
            {
                await route.FulfillAsync(new RouteFulfillOptions { Status = 401, Body = "" });
            }
        });
        await page.GotoAsync("http://recon.test/#runs");
        await Assertions.Expect(page.Locator("#runs-error")).ToHaveTextAsync("GET /api/runs → 401 Unauthorized: the key is missing or wrong (enter it at the top right)");

        await page.ClickAsync("nav a[data-screen='balances']");
        await page.FillAsync("#balances-filter input[name='account']", "bank_b:DE89");
        await page.FillAsync("#balances-filter input[name='day']", "2025-06-09");
        await page.ClickAsync("#balances-filter button");
        var eur = page.Locator(".proof[data-account='bank_b:DE89'][data-day='2025-06-09']");
        await Assertions.Expect(eur.Locator("[data-field='proved']")).ToHaveTextAsync("proved");
        await Assertions.Expect(eur.Locator("[data-field='statement']")).ToHaveTextAsync("12,500.75 EUR");
        await Assertions.Expect(eur.Locator("[data-field='ledger']")).ToHaveTextAsync("12,000.00 EUR");
        await Assertions.Expect(eur).ToContainTextAsync("bank_b/REF-1 · SEPA from ACME");
        await Assertions.Expect(eur).ToContainTextAsync("500.75 EUR");
        var jpy = page.Locator(".proof[data-account='jp:1']");
        await Assertions.Expect(jpy.Locator("[data-field='proved']")).ToHaveTextAsync("does not prove");
        await Assertions.Expect(jpy.Locator("[data-field='statement']")).ToHaveTextAsync("-1,500 JPY");
        await Assertions.Expect(jpy.Locator("[data-field='difference']")).ToHaveTextAsync("-500 JPY");
        await Assertions.Expect(jpy).ToContainTextAsync("-2,000 JPY");
        Assert.Equal("?account=bank_b%3ADE89&day=2025-06-09", asked);
    }

    /// <summary>The Functions app's <c>/api/ui</c> serves the worker's bytes; its runs endpoints answer as the worker's.</summary>
    private static async Task BothHostsServeTheSamePageAndRunsAsync(PipelineStack stack, string runId)
    {
        using var functionsHost = HostParityTests.BuildFunctionsHost(stack.Settings());
        var functions = ActivatorUtilities.CreateInstance<WebFunctions>(functionsHost.Services);
        foreach (var (workerPath, file) in new[] { ("/", (string?)null), ("/api/ui", null), ("/api/ui/app.js", "app.js"), ("/api/ui/app.css", "app.css"), ("/api/ui/nope.js", "nope.js") })
        {
            using var fromWorker = await stack.Http.GetAsync(new Uri(stack.WorkerUrl, workerPath));
            var fromFunctions = await ExecuteAsync(WebFunctions.Page(NewRequest("GET", "/api/ui"), file));
            Assert.Equal(fromWorker.StatusCode, fromFunctions.Status);
            if (fromWorker.StatusCode == HttpStatusCode.OK)
            {
                Assert.Equal(await fromWorker.Content.ReadAsByteArrayAsync(), fromFunctions.Body);
                Assert.Equal(fromWorker.Content.Headers.ContentType!.ToString(), fromFunctions.ContentType);
                Assert.Equal(WebPage.Headers["Content-Security-Policy"], fromWorker.Headers.GetValues("Content-Security-Policy").Single());
            }
        }
        using var report = await stack.Http.GetAsync(new Uri(stack.WorkerUrl, $"/api/runs/{runId}/report"));
        var fromF = await ExecuteAsync(await functions.RunReportAsync(NewRequest("GET", $"/api/runs/{runId}/report"), runId));
        Assert.Equal(HttpStatusCode.OK, report.StatusCode);
        Assert.Equal(await report.Content.ReadAsStringAsync(), Encoding.UTF8.GetString(fromF.Body));
        using var missing = await stack.Http.GetAsync(new Uri(stack.WorkerUrl, "/api/runs/no-such-run/report"));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await ExecuteAsync(await functions.RunReportAsync(NewRequest("GET", "/api/runs/no-such-run/report"), "no-such-run"))).Status);
        // the list: equal but for the connections block (each host has its own pool)
        using var list = await stack.Http.GetAsync(new Uri(stack.WorkerUrl, "/api/runs"));
        var fromFList = await ExecuteAsync(await functions.ListRunsAsync(NewRequest("GET", "/api/runs")));
        static string WithoutConnections(string json)
        {
            var node = System.Text.Json.Nodes.JsonNode.Parse(json)!.AsObject();
            node.Remove("connections");
            return node.ToJsonString();
        }
        Assert.Equal(WithoutConnections(await list.Content.ReadAsStringAsync()), WithoutConnections(Encoding.UTF8.GetString(fromFList.Body)));
        using var bad = await stack.Http.GetAsync(new Uri(stack.WorkerUrl, "/api/runs?limit=0&colour=red"));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var errors = (await bad.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.Equal(["colour: unknown parameter (expected limit)", "limit: '0' is not an integer in 1..200"], errors);
    }

    /// <summary>A bank A transaction matched 1:1 to an entry no other transaction claims: the one booked late.</summary>
    private static (LedgerEntry Entry, string ProviderTxId) PickLateEntry(PipelineStack stack)
    {
        var claims = stack.Scenario.Truth.SelectMany(t => t.LedgerIds).GroupBy(id => id, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var truth = stack.Scenario.Truth.First(t => t.Provider == Providers.BankA && t.LedgerIds.Count == 1 && claims[t.LedgerIds[0]] == 1);
        return (stack.Scenario.Ledger.Single(e => e.Id == truth.LedgerIds[0]), truth.ProviderTxId);
    }

    private static void AssertBrowserInstalled()
        => Assert.True(File.Exists(Chromium), $"{Chromium} is missing: ./recon test installs Debian's chromium (apt-get install chromium)");

    private static async Task FilterReviewAsync(IPage page, string account, string day)
    {
        await page.FillAsync("#review-filter input[name='provider']", "bank_a");
        await page.FillAsync("#review-filter input[name='account']", account);
        await page.FillAsync("#review-filter input[name='from']", day);
        await page.FillAsync("#review-filter input[name='to']", day);
        await page.ClickAsync("#review-filter button");
    }

    internal static string Money(long minor, string currency)
    {
        var exponent = Currency.MinorUnitExponent(currency);
        var value = minor / (decimal)Math.Pow(10, exponent);
        return value.ToString("N" + exponent.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture) + " " + currency;
    }

    /// <summary>Where the screenshots go: <c>RECON_SCREENSHOTS_DIR</c> (<c>./recon screenshots</c> sets it to docs/screenshots), else
    /// beside the test binary.</summary>
    private static string ScreenshotFolder()
    {
        var folder = Environment.GetEnvironmentVariable("RECON_SCREENSHOTS_DIR") is { Length: > 0 } d ? d : Path.Combine(AppContext.BaseDirectory, "screenshots");
        Directory.CreateDirectory(folder);
        return folder;
    }

    private static HttpRequest NewRequest(string method, string path)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        context.Request.Path = path;
        context.Response.Body = new MemoryStream();
        return context.Request;
    }

    private sealed record Answer(HttpStatusCode Status, byte[] Body, string? ContentType);

    private static async Task<Answer> ExecuteAsync(IActionResult result)
    {
        var context = new DefaultHttpContext();
        context.Response.Body = new MemoryStream();
        await result.ExecuteResultAsync(new ActionContext(context, new RouteData(), new ActionDescriptor()));
        return new Answer((HttpStatusCode)context.Response.StatusCode, ((MemoryStream)context.Response.Body).ToArray(), context.Response.ContentType);
    }

    private static async Task ExecAsync(NpgsqlDataSource db, string sql)
    {
        await using var cmd = db.CreateCommand(sql);
        await cmd.ExecuteNonQueryAsync();
    }
}

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

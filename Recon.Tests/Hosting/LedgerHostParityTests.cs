using System.Net;
using System.Text;
using System.Text.Json;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Abstractions;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Recon.Functions;
using Recon.Tests.Infrastructure;
using Recon.Tests.Pipeline;
using Recon.Worker;

namespace Recon.Tests.Hosting;

/// <summary>
/// Ledger in, through both hosts: one table of <c>POST /api/ledger-entries</c> requests sent to Recon.Worker over real HTTP
/// and to the Functions trigger (each host on its own database, so both see the same sequence), and one set of
/// <c>recon-ledger</c> messages through both hosts' queue glue to the real poison queue. Codes, bodies and poison reasons
/// must be equal, and each host records its own actor in the audit log.
/// </summary>
public sealed class LedgerHostParityTests
{
    private const string Entries = """[{"id":"P1","account":"bank_a:main","amountMinor":1000,"currency":"USD","valueDate":"2026-11-02","reference":"INV-1"},{"id":"P2","account":"bank_a:main","amountMinor":-250,"currency":"EUR","valueDate":"2026-11-03"}]""";

    private const string Amended = "{\"id\":\"P2\",\"account\":\"bank_a:main\",\"amountMinor\":-260,\"currency\":\"EUR\",\"valueDate\":\"2026-11-03\"}\n{\"id\":\"P3\",\"account\":\"bank_a:main\",\"amountMinor\":5,\"currency\":\"USD\",\"valueDate\":\"2026-11-04\"}\n";

    /// <summary>(case, body, expected status, expected body): every row goes to both hosts in this order.</summary>
    public static readonly (string Case, string Body, HttpStatusCode Status, string Expected)[] Requests =
    [
        ("array", Entries, HttpStatusCode.OK, """{"received":2,"inserted":2,"amended":0,"unchanged":0,"verdictsReopened":0}"""),
        ("same again", Entries, HttpStatusCode.OK, """{"received":2,"inserted":0,"amended":0,"unchanged":2,"verdictsReopened":0}"""),
        ("ndjson, one amended", Amended, HttpStatusCode.OK, """{"received":2,"inserted":1,"amended":1,"unchanged":0,"verdictsReopened":0}"""),
        ("malformed", """[{"id":"P9",""", HttpStatusCode.BadRequest, "\"body: line 1: not JSON ("),
        ("decimal amount", """[{"id":"P9","account":"a","amountMinor":10.5,"currency":"USD","valueDate":"2026-11-02"}]""", HttpStatusCode.BadRequest,
            """{"errors":["body: entry 1, field 'amountMinor': '10.5' is not an integer number of minor units"]}"""),
        ("unknown field", """{"id":"P9","account":"a","amountMinor":1,"currency":"USD","valueDate":"2026-11-02","memo":"x"}""", HttpStatusCode.BadRequest,
            """{"errors":["body: line 1, field 'memo': unknown field (expected id, account, amountMinor, currency, valueDate, reference, externalRef, counterparty, description)"]}"""),
        ("empty", "", HttpStatusCode.BadRequest, """{"errors":["body: line 1: no entries (expected a JSON array or NDJSON, one entry per line)"]}"""),
        ("oversized", "[" + new string(' ', 16 * 1024 * 1024) + "]", HttpStatusCode.RequestEntityTooLarge,
            """{"errors":["body: larger than 16777216 bytes; import a file with recon ledger import"]}"""),
    ];

    [Fact]
    public async Task SameLedgerRequests_BothHosts_AnswerTheSame_AndRecordTheirActor()
    {
        await using var stack = await PipelineStack.CreateAsync(seed: 73, size: 10);
        await using var functionsDb = new TestDatabase();
        await functionsDb.InitializeAsync();
        var settings = stack.Settings();
        settings["Recon:Review:Operator"] = "worker-operator";
        var worker = WorkerApp.Build([], settings: settings);
        await worker.StartAsync();
        try
        {
            var fSettings = stack.Settings();
            fSettings["Recon:Database:ConnectionString"] = functionsDb.ConnectionString;
            using var functionsHost = HostParityTests.BuildFunctionsHost(fSettings);
            var functions = ActivatorUtilities.CreateInstance<LedgerFunctions>(functionsHost.Services);
            foreach (var (name, body, status, expected) in Requests)
            {
                var fromWorker = await PostToWorkerAsync(stack, body);
                var fromFunctions = await PostToFunctionsAsync(functions, body, "alice@contoso.example");
                Assert.True(fromWorker.Status == fromFunctions.Status, $"{name}: worker {fromWorker.Status}, functions {fromFunctions.Status}");
                Assert.True(fromWorker.Body == fromFunctions.Body, $"{name}: bodies differ\nworker:    {fromWorker.Body}\nfunctions: {fromFunctions.Body}");
                Assert.Equal(status, fromWorker.Status);
                // the hosts' JSON escapes quotes in strings (\u0027); the expectation is written as a person reads it
                var readable = System.Text.RegularExpressions.Regex.Unescape(fromWorker.Body);
                Assert.True(readable == expected || readable.Contains(expected, StringComparison.Ordinal), $"{name}: {readable}");
            }
            Assert.Equal(["worker-operator", "worker-operator", "worker-operator"], await ActorsAsync(stack.Db.DataSource));
            Assert.Equal(["alice@contoso.example", "alice@contoso.example", "alice@contoso.example"], await ActorsAsync(functionsDb.DataSource));
            // a function-key call without a signed-in principal and no operator configured
            var anonymous = ActivatorUtilities.CreateInstance<LedgerFunctions>(functionsHost.Services, new Recon.Core.Review.ReviewOptions());
            Assert.Equal(HttpStatusCode.OK, (await PostToFunctionsAsync(anonymous, Entries, null)).Status);
            Assert.Equal("function-key", (await ActorsAsync(functionsDb.DataSource))[^1]);
        }
        finally
        {
            await worker.StopAsync();
            await worker.Services.GetRequiredService<Recon.Worker.Hosting.DurableHost>().DeleteHubAsync();
            await worker.DisposeAsync();
        }
    }

    [Fact]
    public async Task SameLedgerMessages_BothHosts_PoisonTheSameWithTheSameReason_AndImportTheValidOne()
    {
        await using var stack = await PipelineStack.CreateAsync(seed: 74, size: 10);
        await using var functionsDb = new TestDatabase();
        await functionsDb.InitializeAsync();
        string[] messages =
        [
            """[{"id":"Q1",""",
            "{\"id\":\"Q1\",\"account\":\"a\",\"amountMinor\":1,\"currency\":\"USD\",\"valueDate\":\"2026-11-02\"}\n{\"id\":\"Q1\",\"account\":\"a\",\"amountMinor\":2,\"currency\":\"USD\",\"valueDate\":\"2026-11-02\"}",
            """[{"id":"Q7","account":"bank_b:main","amountMinor":777,"currency":"EUR","valueDate":"2026-11-05"}]""",
        ];
        var queue = $"q{Guid.NewGuid():N}"[..12] + "-ledger";
        var settings = stack.Settings();
        settings["Recon:Queues:Ledger"] = queue;
        var worker = WorkerApp.Build([], settings: settings);
        await worker.StartAsync();
        Dictionary<string, string> fromWorker;
        var queues = new QueueServiceClient(TestStack.Storage);
        try
        {
            var ledger = queues.GetQueueClient(queue);
            await ledger.CreateIfNotExistsAsync();
            foreach (var m in messages)
            {
                await ledger.SendMessageAsync(m);
            }
            fromWorker = await TestPolling.PoisonReasonsAsync(queues.GetQueueClient(queue + "-poison"), expected: 2);
            await TestPolling.UntilAsync(async () => (await TestPolling.RowsAsync(stack.Db.DataSource, "select id from ledger_entries where id like 'Q%'")).Count == 1, TimeSpan.FromMinutes(1));
        }
        finally
        {
            await worker.StopAsync();
            await worker.Services.GetRequiredService<Recon.Worker.Hosting.DurableHost>().DeleteHubAsync();
            await worker.DisposeAsync();
        }

        var fSettings = stack.Settings();
        fSettings["Recon:Database:ConnectionString"] = functionsDb.ConnectionString;
        fSettings["Recon:Queues:Ledger"] = queue + "-f";
        using var functionsHost = HostParityTests.BuildFunctionsHost(fSettings);
        var functions = ActivatorUtilities.CreateInstance<LedgerFunctions>(functionsHost.Services);
        var i = 0;
        foreach (var m in messages)
        {
            await functions.LedgerFromQueueAsync(QueuesModelFactory.QueueMessage($"m{i++}", "pop", m, dequeueCount: 1), CancellationToken.None);
        }
        var fromFunctions = await TestPolling.PoisonReasonsAsync(queues.GetQueueClient(queue + "-f-poison"), expected: 2);
        try
        {
            Assert.Equal(fromWorker.Count, fromFunctions.Count);
            foreach (var (body, reason) in fromWorker)
            {
                Assert.True(fromFunctions.TryGetValue(body, out var other), $"the Functions app did not poison {body}");
                Assert.Equal(reason, other);
            }
            Assert.Contains(fromWorker.Values, r => r.StartsWith("invalid ledger entries: line 1: not JSON (", StringComparison.Ordinal));
            Assert.Contains(fromWorker.Values, r => r.StartsWith("invalid ledger entries: line 2, field 'id': 'Q1' appears twice (first at line 1)", StringComparison.Ordinal));
            foreach (var db in new[] { stack.Db.DataSource, functionsDb.DataSource })
            {
                Assert.Equal(["Q7|777|EUR"], await TestPolling.RowsAsync(db, "select id, amount_minor, currency from ledger_entries where id like 'Q%'"));
                Assert.Equal(["recon-ledger"], await TestPolling.RowsAsync(db, "select actor from audit_log where action = 'ledger_import'"));
            }
        }
        finally
        {
            foreach (var name in new[] { queue, queue + "-poison", queue + "-f", queue + "-f-poison" })
            {
                await queues.GetQueueClient(name).DeleteIfExistsAsync();
            }
        }
    }

    private sealed record Answer(HttpStatusCode Status, string Body);

    private static async Task<Answer> PostToWorkerAsync(PipelineStack stack, string body)
    {
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await stack.Http.PostAsync(new Uri(stack.WorkerUrl, "/api/ledger-entries"), content);
        return new Answer(response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private static async Task<Answer> PostToFunctionsAsync(LedgerFunctions functions, string body, string? principal)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = "POST";
        context.Request.Path = "/api/ledger-entries";
        context.Request.Body = new MemoryStream(Encoding.UTF8.GetBytes(body));
        if (principal is not null)
        {
            context.Request.Headers[LedgerFunctions.PrincipalNameHeader] = principal;
        }
        context.Response.Body = new MemoryStream();
        var result = await functions.ImportAsync(context.Request);
        await result.ExecuteResultAsync(new ActionContext(context, new RouteData(), new ActionDescriptor()));
        context.Response.Body.Position = 0;
        return new Answer((HttpStatusCode)context.Response.StatusCode, await new StreamReader(context.Response.Body).ReadToEndAsync());
    }

    private static async Task<List<string>> ActorsAsync(Npgsql.NpgsqlDataSource db) => await TestPolling.RowsAsync(db, "select actor from audit_log where action = 'ledger_import' order by id");

}

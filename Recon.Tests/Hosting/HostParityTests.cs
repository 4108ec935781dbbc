using System.Net;
using System.Text;
using System.Text.Json;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Abstractions;
using Microsoft.AspNetCore.Routing;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Moq;
using Recon.Functions;
using Recon.Tests.Infrastructure;
using Recon.Tests.Pipeline;
using Recon.Worker;

namespace Recon.Tests.Hosting;

/// <summary>
/// Both hosts answer the same requests and messages the same way: one table of requests (valid, repeated, malformed,
/// invalid, oversized, unknown run) sent to Recon.Worker over real HTTP (DTFx on Azurite) and to the Functions app's
/// trigger methods (its host built as Program.cs builds it; the <c>DurableTaskClient</c>, which needs the Functions host,
/// is the one Moq seam, keeping the instances it was asked to start), and one set of ingest messages through both hosts'
/// queue glue to the real poison queue. Status codes, bodies and Location headers must be equal.
/// </summary>
public sealed class HostParityTests
{
    private const string ValidBody = """{"provider":"stripe","account":"acct_parity","from":"2025-03-03","to":"2025-03-03","runId":"parity-run-1"}""";

    /// <summary>(case, method, path, body): every row is sent to both hosts in this order.</summary>
    public static readonly (string Case, string Method, string Path, string? Body)[] Requests =
    [
        ("valid", "POST", "/api/reconciliations", ValidBody),
        ("repeated", "POST", "/api/reconciliations", ValidBody),
        ("malformed JSON", "POST", "/api/reconciliations", """{"provider":"stripe","account":"""),
        ("invalid fields", "POST", "/api/reconciliations", """{"provider":"paypal","account":"","from":"2025-03-05","to":"2025-03-01","pageSize":500}"""),
        ("empty body", "POST", "/api/reconciliations", ""),
        ("null body", "POST", "/api/reconciliations", "null"),
        ("oversized", "POST", "/api/reconciliations", "{\"account\":\"" + new string('a', 20_000) + "\"}"),
        ("unknown run", "GET", "/api/reconciliations/run-0000000000000000dead", null),
        ("impossible run id", "GET", "/api/reconciliations/not..a..run", null),
    ];

    [Fact]
    public async Task SameRequests_BothHosts_AnswerTheSameStatusCodesBodiesAndLocations()
    {
        // each host with its own database (what a run started is kept there), the same requests to both
        await using var stack = await PipelineStack.CreateAsync(seed: 71, size: 10);
        await using var stackF = await PipelineStack.CreateAsync(seed: 71, size: 10);
        var worker = WorkerApp.Build([], settings: stack.Settings());
        await worker.StartAsync();
        try
        {
            await CreateBatchQueuesAsync(stackF);
            using var functionsHost = BuildFunctionsHost(stackF.Settings());
            var functions = ActivatorUtilities.CreateInstance<PipelineFunctions>(functionsHost.Services);
            var client = new StatefulDurableClient();
            foreach (var (name, method, path, body) in Requests)
            {
                var fromWorker = await SendToWorkerAsync(stack, method, path, body);
                var fromFunctions = await SendToFunctionsAsync(functions, client.Object, stack.Port, method, path, body);
                Assert.True(fromWorker.Status == fromFunctions.Status, $"{name}: worker {fromWorker.Status}, functions {fromFunctions.Status}");
                Assert.True(fromWorker.Body == fromFunctions.Body, $"{name}: bodies differ\nworker:    {fromWorker.Body}\nfunctions: {fromFunctions.Body}");
                Assert.Equal(fromWorker.Location, fromFunctions.Location);
            }
            // the rows mean what they say
            var valid = await SendToWorkerAsync(stack, "POST", "/api/reconciliations", ValidBody);
            Assert.Equal(HttpStatusCode.Accepted, valid.Status);
            Assert.Contains("\"started\":false", valid.Body, StringComparison.Ordinal);
            Assert.Equal($"http://127.0.0.1:{stack.Port}/api/reconciliations/parity-run-1", valid.Location);
            // the run was planned and queued by the intake itself (no orchestration per run), and the dispatcher signalled once
            Assert.Empty(client.Scheduled);
            Assert.Equal(["raise work recon-dispatcher"], client.Raised);
            Assert.Equal((1, 1), await PlannedAsync(stackF, "parity-run-1"));

            // a known run: both answer 200 with its id (the runtime status and batch counts differ: only the worker ran it)
            var known = await SendToWorkerAsync(stack, "GET", "/api/reconciliations/parity-run-1", null);
            var knownF = await SendToFunctionsAsync(functions, client.Object, stack.Port, "GET", "/api/reconciliations/parity-run-1", null);
            Assert.Equal(HttpStatusCode.OK, known.Status);
            Assert.Equal(HttpStatusCode.OK, knownF.Status);
            foreach (var answer in new[] { known.Body, knownF.Body })
            {
                using var doc = JsonDocument.Parse(answer);
                Assert.Equal("parity-run-1", doc.RootElement.GetProperty("id").GetString());
                Assert.Equal(["id", "runtimeStatus", "output", "batches", "late", "total"], doc.RootElement.EnumerateObject().Select(p => p.Name));
            }
        }
        finally
        {
            await worker.StopAsync();
            await worker.Services.GetRequiredService<Recon.Worker.Hosting.DurableHost>().DeleteHubAsync();
            await worker.DisposeAsync();
        }
    }

    [Fact]
    public async Task SameIngestMessages_BothHosts_PoisonTheSameWithTheSameReason_AndStartTheValidOne()
    {
        await using var stack = await PipelineStack.CreateAsync(seed: 72, size: 10);
        string[] messages =
        [
            """{"provider":"stripe","account":""",
            """{"provider":"paypal","account":"a","from":"2025-03-01","to":"2025-03-01"}""",
            """{"provider":"stripe","account":"acct_q","from":"2025-03-03","to":"2025-03-03","runId":"parity-queue-1"}""",
        ];
        var worker = WorkerApp.Build([], settings: stack.Settings());
        await worker.StartAsync();
        Dictionary<string, string> fromWorker;
        try
        {
            var ingest = new QueueClient(TestStack.Storage, stack.IngestQueue);
            await ingest.CreateIfNotExistsAsync();
            foreach (var m in messages)
            {
                await ingest.SendMessageAsync(m);
            }
            fromWorker = await TestPolling.PoisonReasonsAsync(new QueueClient(TestStack.Storage, stack.IngestQueue + "-poison"), expected: 2);
            // the valid one started its run (and left the ingest queue)
            await TestPolling.UntilAsync(async () => (await ingest.GetPropertiesAsync()).Value.ApproximateMessagesCount == 0, TimeSpan.FromMinutes(1));
        }
        finally
        {
            await worker.StopAsync();
            await worker.Services.GetRequiredService<Recon.Worker.Hosting.DurableHost>().DeleteHubAsync();
            await worker.DisposeAsync();
        }

        // the Functions trigger, on its own ingest queue name so its poison queue is its own
        await using var stackF = await PipelineStack.CreateAsync(seed: 72, size: 10);
        var functionsQueue = stack.IngestQueue + "-f";
        await CreateBatchQueuesAsync(stackF);
        var settings = stackF.Settings();
        settings["Recon:Queues:Ingest"] = functionsQueue;
        using var functionsHost = BuildFunctionsHost(settings);
        var functions = ActivatorUtilities.CreateInstance<PipelineFunctions>(functionsHost.Services);
        var client = new StatefulDurableClient();
        var i = 0;
        foreach (var m in messages)
        {
            var message = QueuesModelFactory.QueueMessage($"m{i++}", "pop", m, dequeueCount: 1);
            await functions.IngestFromQueueAsync(message, client.Object, CancellationToken.None);
        }
        var fromFunctions = await TestPolling.PoisonReasonsAsync(new QueueClient(TestStack.Storage, functionsQueue + "-poison"), expected: 2);

        Assert.Equal(fromWorker.Count, fromFunctions.Count);
        foreach (var (body, reason) in fromWorker)
        {
            Assert.True(fromFunctions.TryGetValue(body, out var other), $"the Functions app did not poison {body}");
            Assert.Equal(reason, other);
        }
        Assert.Contains(fromWorker.Values, r => r.StartsWith("invalid reconciliation request: body: not a reconciliation request", StringComparison.Ordinal));
        Assert.Contains(fromWorker.Values, r => r.Contains("provider: 'paypal'", StringComparison.Ordinal));
        Assert.Equal(["raise work recon-dispatcher"], client.Raised);
        Assert.Equal((1, 1), await PlannedAsync(stackF, "parity-queue-1"));
        Assert.Equal((1, 1), await PlannedAsync(stack, "parity-queue-1"));
    }

    /// <summary>recon-high / recon-low of a stack no worker runs on (on Azure, bicep creates them).</summary>
    private static async Task CreateBatchQueuesAsync(PipelineStack stack)
    {
        var settings = stack.Settings();
        foreach (var name in new[] { settings["Recon:Queues:HighQueue"]!, settings["Recon:Queues:LowQueue"]! })
        {
            await new QueueClient(TestStack.Storage, name).CreateIfNotExistsAsync();
        }
    }

    /// <summary>What the intake recorded for a run: first pages planned, and queued.</summary>
    private static async Task<(int?, int?)> PlannedAsync(PipelineStack stack, string runId)
    {
        await using var dataSource = Npgsql.NpgsqlDataSource.Create(stack.Db.ConnectionString);
        await using var cmd = dataSource.CreateCommand("select planned, enqueued from runs where run_id = $1");
        cmd.Parameters.Add(new Npgsql.NpgsqlParameter { Value = runId });
        await using var r = await cmd.ExecuteReaderAsync();
        Assert.True(await r.ReadAsync(), $"no run {runId}");
        return (r.IsDBNull(0) ? null : r.GetInt32(0), r.IsDBNull(1) ? null : r.GetInt32(1));
    }

    private sealed record Answer(HttpStatusCode Status, string Body, string? Location);

    private static async Task<Answer> SendToWorkerAsync(PipelineStack stack, string method, string path, string? body)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(stack.WorkerUrl, path));
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }
        using var response = await stack.Http.SendAsync(request);
        return new Answer(response.StatusCode, await response.Content.ReadAsStringAsync(), response.Headers.Location?.ToString());
    }

    private static async Task<Answer> SendToFunctionsAsync(PipelineFunctions functions, DurableTaskClient client, int port, string method, string path, string? body)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        context.Request.Scheme = "http";
        context.Request.Host = new HostString("127.0.0.1", port);
        context.Request.Path = path;
        context.Request.Body = new MemoryStream(Encoding.UTF8.GetBytes(body ?? ""));
        context.Response.Body = new MemoryStream();
        var result = method == "POST"
            ? await functions.StartAsync(context.Request, client)
            : await functions.StatusAsync(context.Request, path["/api/reconciliations/".Length..], client);
        await result.ExecuteResultAsync(new ActionContext(context, new RouteData(), new ActionDescriptor()));
        context.Response.Body.Position = 0;
        var text = await new StreamReader(context.Response.Body).ReadToEndAsync();
        return new Answer((HttpStatusCode)context.Response.StatusCode, text, context.Response.Headers.Location.FirstOrDefault());
    }

    /// <summary>The Functions app's host as Program.cs builds it, with <paramref name="settings"/> as its only configuration.</summary>
    internal static IHost BuildFunctionsHost(IReadOnlyDictionary<string, string?> settings)
    {
        var builder = ReconFunctionsApp.ConfigureHost(FunctionsApplication.CreateBuilder([]));
        // only these settings: not this process's environment, which the worker's defaults add as a source
        ((IConfigurationBuilder)builder.Configuration).Sources.Clear();
        builder.Configuration.AddInMemoryCollection(settings);
        ReconFunctionsApp.AddServices(builder, Path.Combine(AppContext.BaseDirectory, "no-host.json"));
        return builder.Build();
    }

    /// <summary>A Durable client (the seam that needs the Functions host) that keeps the instances it was asked to start.</summary>
    private sealed class StatefulDurableClient
    {
        private readonly Dictionary<string, OrchestrationMetadata> _instances = new(StringComparer.Ordinal);

        public StatefulDurableClient()
        {
            var mock = new Mock<DurableTaskClient>(MockBehavior.Loose, "parity") { CallBase = true };
            mock.Setup(c => c.GetInstancesAsync(It.IsAny<string>(), It.IsAny<bool>(), It.IsAny<CancellationToken>()))
                .Returns((string id, bool _, CancellationToken _) => Task.FromResult(_instances.GetValueOrDefault(id)));
            mock.Setup(c => c.ScheduleNewOrchestrationInstanceAsync(It.IsAny<TaskName>(), It.IsAny<object?>(), It.IsAny<StartOrchestrationOptions?>(), It.IsAny<CancellationToken>()))
                .Returns((TaskName name, object? _, StartOrchestrationOptions? options, CancellationToken _) =>
                {
                    var id = options!.InstanceId!;
                    Scheduled.Add($"schedule {name.Name} {id}");
                    _instances[id] = new OrchestrationMetadata(name.Name, id) { RuntimeStatus = OrchestrationRuntimeStatus.Pending, LastUpdatedAt = DateTimeOffset.UtcNow };
                    return Task.FromResult(id);
                });
            mock.Setup(c => c.RaiseEventAsync(It.IsAny<string>(), It.IsAny<string>(), It.IsAny<object?>(), It.IsAny<CancellationToken>()))
                .Returns((string id, string name, object? _, CancellationToken _) =>
                {
                    Raised.Add($"raise {name} {id}");
                    return Task.CompletedTask;
                });
            Object = mock.Object;
        }

        public DurableTaskClient Object { get; }

        public List<string> Scheduled { get; } = [];

        public List<string> Raised { get; } = [];
    }
}

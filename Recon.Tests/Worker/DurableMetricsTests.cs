using Azure.Core;
using Azure.Storage.Queues;
using Microsoft.DurableTask;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Recon.Tests.Infrastructure;
using Recon.Worker.Hosting;
using OrchestrationStatus = DurableTask.Core.OrchestrationStatus;

namespace Recon.Tests.Worker;

/// <summary>The worker's own counters (<c>GET /api/metrics/durable</c>): a known number of requests, executions and
/// episodes, and the counter says exactly that.</summary>
public sealed class DurableMetricsTests
{
    [Fact]
    public async Task StoragePolicy_CountsEachQueueRequestByOperation()
    {
        var metrics = new DurableMetrics();
        var options = new QueueClientOptions();
        // no retries: one call is exactly one try, so the counts are known
        options.Retry.MaxRetries = 0;
        options.AddPolicy(metrics.StoragePolicy("queue"), HttpPipelinePosition.PerRetry);
        var queue = new QueueServiceClient(TestStack.Storage, options).GetQueueClient($"metrics-{Guid.NewGuid():N}"[..20]);
        try
        {
            await queue.CreateAsync();
            for (var i = 0; i < 3; i++)
            {
                await queue.SendMessageAsync($"m{i}");
            }
            await queue.PeekMessagesAsync(1);
            var first = (await queue.ReceiveMessagesAsync(1)).Value.Single();
            await queue.ReceiveMessagesAsync(2);
            await queue.UpdateMessageAsync(first.MessageId, first.PopReceipt, visibilityTimeout: TimeSpan.Zero);

            var counted = metrics.Snapshot().StorageRequests["queue"];
            Assert.Equal(3, counted["send"]);
            Assert.Equal(2, counted["receive"]);
            Assert.Equal(1, counted["peek"]);
            Assert.Equal(1, counted["update"]);
            Assert.Equal(1, counted["put"]);
            Assert.Equal(8, counted.Values.Sum());
        }
        finally
        {
            await queue.DeleteIfExistsAsync();
        }
    }

    [Fact]
    public async Task Host_CountsActivityExecutionsEpisodesAndBackendStorageRequests()
    {
        var metrics = new DurableMetrics();
        var registry = new DurableRegistry().AddOrchestrator<ThreeCallsOrchestrator>().AddActivity<EchoActivity>();
        var options = new DurableHostOptions { TaskHubName = TestHubs.NewName(), StorageConnectionString = TestStack.Storage };
        await using var host = new DurableHost(options, registry, new ServiceCollection().BuildServiceProvider(), NullLoggerFactory.Instance, metrics);
        try
        {
            await host.StartAsync();
            var instance = await host.Client.CreateOrchestrationInstanceAsync(nameof(ThreeCallsOrchestrator), "", $"three-{Guid.NewGuid():N}", "x");
            var state = await TestHubs.WaitForCompletionAsync(host.Client, instance.InstanceId, TimeSpan.FromMinutes(2));
            Assert.Equal(OrchestrationStatus.Completed, state.OrchestrationStatus);

            var snapshot = metrics.Snapshot();
            // three activity calls, one after the other: three executions and four episodes (the start, then one per result)
            Assert.Equal(3, snapshot.ActivityExecutions);
            Assert.Equal(3, snapshot.Activities[nameof(EchoActivity)]);
            Assert.Equal(4, snapshot.Orchestrations[nameof(ThreeCallsOrchestrator)]);
            Assert.Equal(4, snapshot.OrchestrationEpisodes);
            // the backend's own clients are counted: its work-item and control queues and its history and instances tables
            Assert.True(snapshot.StorageRequests["queue"]["send"] >= 4, "activity and control messages sent");
            Assert.True(snapshot.StorageRequests["table"].Values.Sum() > 0, "history and instance table requests");
            Assert.True(snapshot.StorageRequests["blob"]["lease"] > 0, "partition lease requests");
        }
        finally
        {
            await host.StopAsync();
            await host.DeleteHubAsync();
        }
    }

    [Theory]
    [InlineData("queue", "POST", "http://127.0.0.1:1/devstoreaccount1/q/messages", "send")]
    [InlineData("queue", "GET", "http://127.0.0.1:1/devstoreaccount1/q/messages?numofmessages=32", "receive")]
    [InlineData("queue", "GET", "http://127.0.0.1:1/devstoreaccount1/q/messages?peekonly=true", "peek")]
    [InlineData("queue", "DELETE", "http://127.0.0.1:1/devstoreaccount1/q/messages/a?popreceipt=x", "delete")]
    [InlineData("queue", "GET", "http://127.0.0.1:1/devstoreaccount1/q?comp=metadata", "get metadata")]
    [InlineData("table", "GET", "http://127.0.0.1:1/devstoreaccount1/History()?$filter=x", "query")]
    [InlineData("table", "POST", "http://127.0.0.1:1/devstoreaccount1/$batch", "batch")]
    [InlineData("table", "PATCH", "http://127.0.0.1:1/devstoreaccount1/Instances(PartitionKey='a',RowKey='')", "update")]
    [InlineData("blob", "PUT", "http://127.0.0.1:1/devstoreaccount1/leases/p0?comp=lease", "lease")]
    [InlineData("blob", "GET", "http://127.0.0.1:1/devstoreaccount1/leases/p0", "read")]
    [InlineData("blob", "GET", "http://127.0.0.1:1/devstoreaccount1/leases?restype=container&comp=list", "list")]
    [InlineData("blob", "PUT", "http://127.0.0.1:1/devstoreaccount1/leases?restype=container", "create container")]
    public void OperationOf_NamesTheOperation(string service, string method, string uri, string operation)
        => Assert.Equal(operation, DurableMetrics.OperationOf(service, method, new Uri(uri)));

    public sealed class ThreeCallsOrchestrator : TaskOrchestrator<string, string>
    {
        public override async Task<string> RunAsync(TaskOrchestrationContext context, string input)
        {
            var result = input;
            for (var i = 0; i < 3; i++)
            {
                result = await context.CallActivityAsync<string>(nameof(EchoActivity), result);
            }
            return result;
        }
    }

    public sealed class EchoActivity : TaskActivity<string, string>
    {
        public override Task<string> RunAsync(TaskActivityContext context, string input) => Task.FromResult(input + ".");
    }
}

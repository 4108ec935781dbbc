using Microsoft.DurableTask;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Recon.Core.Ingestion;
using Recon.Core.Pipeline;
using Recon.Tests.Infrastructure;
using Recon.Worker.Hosting;
using Recon.Worker.Pipeline;
using OrchestrationStatus = DurableTask.Core.OrchestrationStatus;

namespace Recon.Tests.Worker;

/// <summary>
/// The worker's side of the dispatcher's watch, on DTFx over the real Azurite: a batch orchestration that stopped
/// checkpointing is ended, and an ended one gets a new execution under the same id; a live one is left alone.
/// </summary>
public sealed class HubStarterTests
{
    [Fact]
    public async Task Revive_LeavesALiveInstance_EndsOneThatStoppedCheckpointing_ThenStartsANewExecution()
    {
        var registry = new DurableRegistry().AddOrchestrator<ReconcileBatchOrchestrator>();
        var options = new DurableHostOptions { TaskHubName = TestHubs.NewName(), StorageConnectionString = TestStack.Storage };
        await using var host = new DurableHost(options, registry, new ServiceCollection().BuildServiceProvider(), NullLoggerFactory.Instance);
        try
        {
            await host.StartAsync();
            var starter = new HubStarter(host);
            var batch = new BatchWork("b-watch-1", "run-watch", new PageRequest("bank_a", "acct-1", new(2025, 3, 3), new(2025, 3, 3), null, 50), 3, 125_00, "USD");
            var stalledAfter = TimeSpan.FromSeconds(2);

            Assert.True(await starter.TryStartAsync(batch, CancellationToken.None));
            Assert.False(await starter.TryStartAsync(batch, CancellationToken.None));
            var first = await WaitForStatusAsync(host, batch.BatchId, OrchestrationStatus.Running, null);

            // the stand-in now waits for an event nobody sends: running on paper, no checkpoint after its first episode
            var young = await starter.ReviveAsync(batch, TimeSpan.FromMinutes(5), mayStart: true, CancellationToken.None);
            Assert.Equal(new Revival(LivenessAction.Leave, "Running", Done: false), young);

            await WaitUntilOlderThanAsync(host, batch.BatchId, stalledAfter);
            var ended = await starter.ReviveAsync(batch, stalledAfter, mayStart: true, CancellationToken.None);
            Assert.Equal(new Revival(LivenessAction.Terminate, "Running", Done: true), ended);
            await WaitForStatusAsync(host, batch.BatchId, OrchestrationStatus.Terminated, null);

            // an ended instance whose batch is unfinished: no start while starts are used up, then a new execution
            var refused = await starter.ReviveAsync(batch, stalledAfter, mayStart: false, CancellationToken.None);
            Assert.Equal(new Revival(LivenessAction.Start, "Terminated", Done: false), refused);
            var restarted = await starter.ReviveAsync(batch, stalledAfter, mayStart: true, CancellationToken.None);
            Assert.Equal(new Revival(LivenessAction.Start, "Terminated", Done: true), restarted);
            var second = await WaitForStatusAsync(host, batch.BatchId, OrchestrationStatus.Running, first.OrchestrationInstance.ExecutionId);
            Assert.NotEqual(first.OrchestrationInstance.ExecutionId, second.OrchestrationInstance.ExecutionId);

            // the new execution is the one that runs: it finishes when told to
            await host.Client.RaiseEventAsync(second.OrchestrationInstance, "go", "done");
            var done = await TestHubs.WaitForCompletionAsync(host.Client, batch.BatchId, TimeSpan.FromMinutes(2));
            Assert.Equal(OrchestrationStatus.Completed, done.OrchestrationStatus);
            Assert.Equal(second.OrchestrationInstance.ExecutionId, done.OrchestrationInstance.ExecutionId);
        }
        finally
        {
            await host.StopAsync();
            await host.DeleteHubAsync();
        }
    }

    /// <summary>Polls until the instance is in <paramref name="status"/> (with an execution other than
    /// <paramref name="notExecution"/>), for at most two minutes.</summary>
    private static async Task<DurableTask.Core.OrchestrationState> WaitForStatusAsync(DurableHost host, string instanceId, OrchestrationStatus status, string? notExecution)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (true)
        {
            var state = await host.Client.GetOrchestrationStateAsync(instanceId);
            if (state is not null && state.OrchestrationStatus == status && state.OrchestrationInstance.ExecutionId != notExecution)
            {
                return state;
            }
            Assert.True(DateTime.UtcNow < deadline, $"{instanceId} did not become {status} within 2 minutes (it is {state?.OrchestrationStatus.ToString() ?? "absent"})");
            await Task.Delay(200);
        }
    }

    /// <summary>Waits until the instance's last checkpoint is older than <paramref name="age"/> (bounded: two minutes).</summary>
    private static async Task WaitUntilOlderThanAsync(DurableHost host, string instanceId, TimeSpan age)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while ((await host.Client.GetOrchestrationStateAsync(instanceId)) is { } state && DateTime.UtcNow - state.LastUpdatedTime <= age)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{instanceId} kept checkpointing for 2 minutes");
            await Task.Delay(250);
        }
    }

    /// <summary>Stands in for the real ReconcileBatch (same name, so the starter's name resolves to it): it waits for an
    /// event, which is how a batch whose messages were lost looks to the backend.</summary>
    public sealed class ReconcileBatchOrchestrator : TaskOrchestrator<BatchWork, string>
    {
        public override Task<string> RunAsync(TaskOrchestrationContext context, BatchWork input)
            => context.WaitForExternalEvent<string>("go");
    }
}

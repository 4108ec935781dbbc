using Microsoft.DurableTask;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Recon.Core.Hosting;
using Recon.Core.Pipeline;
using Recon.Tests.Infrastructure;
using Recon.Worker.Hosting;
using Recon.Worker.Pipeline;
using OrchestrationStatus = DurableTask.Core.OrchestrationStatus;

namespace Recon.Tests.Worker;

/// <summary>
/// The worker's side of the dispatcher's watch, on DTFx over the real Azurite: the one dispatcher is started when absent,
/// left alone while it checkpoints, ended when it stopped checkpointing, and given a new execution under the same id
/// once ended; a second start under an existing id is refused.
/// </summary>
public sealed class HubStarterTests
{
    [Fact]
    public async Task EnsureDispatcher_StartsIt_LeavesItLive_EndsItWhenItStopsCheckpointing_ThenStartsANewExecution()
    {
        var registry = new DurableRegistry().AddOrchestrator<DispatcherOrchestrator>();
        var options = new DurableHostOptions { TaskHubName = TestHubs.NewName(), StorageConnectionString = TestStack.Storage };
        await using var host = new DurableHost(options, registry, new ServiceCollection().BuildServiceProvider(), NullLoggerFactory.Instance);
        try
        {
            await host.StartAsync();
            var starter = new HubStarter(host);
            var id = Recon.Core.Pipeline.DispatcherOrchestrator.InstanceId;
            var stalled = new DispatcherSettings { StalledAfterSeconds = 2 };

            Assert.Equal((LivenessAction.Start, (string?)null), await starter.EnsureDispatcherAsync(stalled, DateTime.UtcNow));
            Assert.False(await starter.TryStartAsync(nameof(DispatcherOrchestrator), id, OrchestrationStarter.DispatcherInput(stalled), CancellationToken.None));
            var first = await WaitForStatusAsync(host, id, OrchestrationStatus.Running, null);

            // the stand-in now waits for an event nobody sends: running on paper, no checkpoint after its first episode
            Assert.Equal((LivenessAction.Leave, (string?)"Running"), await starter.EnsureDispatcherAsync(new DispatcherSettings { StalledAfterSeconds = 300 }, DateTime.UtcNow));

            await WaitUntilOlderThanAsync(host, id, TimeSpan.FromSeconds(stalled.StalledAfterSeconds));
            Assert.Equal((LivenessAction.Terminate, (string?)"Running"), await starter.EnsureDispatcherAsync(stalled, DateTime.UtcNow));
            await WaitForStatusAsync(host, id, OrchestrationStatus.Terminated, null);

            Assert.Equal((LivenessAction.Start, (string?)"Terminated"), await starter.EnsureDispatcherAsync(stalled, DateTime.UtcNow));
            var second = await WaitForStatusAsync(host, id, OrchestrationStatus.Running, first.OrchestrationInstance.ExecutionId);
            Assert.NotEqual(first.OrchestrationInstance.ExecutionId, second.OrchestrationInstance.ExecutionId);

            // the new execution is the one that runs: it finishes when told to
            await host.Client.RaiseEventAsync(second.OrchestrationInstance, "go", "done");
            var done = await TestHubs.WaitForCompletionAsync(host.Client, id, TimeSpan.FromMinutes(2));
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

    /// <summary>Stands in for the real dispatcher (same name, so the starter's name resolves to it): it waits for an
    /// event, which is how a dispatcher whose messages were lost looks to the backend.</summary>
    public sealed class DispatcherOrchestrator : TaskOrchestrator<DispatcherState, string>
    {
        public override Task<string> RunAsync(TaskOrchestrationContext context, DispatcherState input)
            => context.WaitForExternalEvent<string>("go");
    }
}

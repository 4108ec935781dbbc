using OrchestrationStatus = DurableTask.Core.OrchestrationStatus;
using Microsoft.DurableTask;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Recon.Tests.Infrastructure;
using Recon.Worker.Hosting;

namespace Recon.Tests.Worker;

/// <summary>The hosting glue on its own: class-based orchestrators and activities on DTFx over the real Azurite.</summary>
public sealed class DurableHostTests
{
    [Fact]
    public async Task ClassBasedOrchestration_RunsOnAzurite_WithTypedInputTimerRetryAndInjectedActivity()
    {
        var services = new ServiceCollection().AddSingleton(new Greeting("hello")).BuildServiceProvider();
        var registry = new DurableRegistry().AddOrchestrator<GreetOrchestrator>().AddActivity<GreetActivity>();
        var options = new DurableHostOptions { TaskHubName = TestHubs.NewName(), StorageConnectionString = TestStack.Storage };
        await using var host = new DurableHost(options, registry, services, NullLoggerFactory.Instance);
        try
        {
            await host.StartAsync();
            var instance = await host.Client.CreateOrchestrationInstanceAsync(nameof(GreetOrchestrator), "", "greet-1", new GreetInput("ada", 3));
            var state = await TestHubs.WaitForCompletionAsync(host.Client, instance.InstanceId, TimeSpan.FromMinutes(2));

            Assert.Equal(OrchestrationStatus.Completed, state.OrchestrationStatus);
            Assert.Equal("\"hello ada, hello ada, hello ada (after 1 failure)\"", state.Output);
            // a healthy run holds no message across a visibility timeout
            Assert.Null(host.HeldMessages.TakeWedged());
        }
        finally
        {
            await host.StopAsync();
            await host.DeleteHubAsync();
        }
    }

    [Fact]
    public async Task Recycle_RebuildsTheWorker_AnOrchestrationWaitingAcrossItFinishes_AndNewOnesRun()
    {
        var services = new ServiceCollection().AddSingleton(new Greeting("hi")).BuildServiceProvider();
        var registry = new DurableRegistry().AddOrchestrator<GreetOrchestrator>().AddOrchestrator<WaitOrchestrator>().AddActivity<GreetActivity>();
        var options = new DurableHostOptions { TaskHubName = TestHubs.NewName(), StorageConnectionString = TestStack.Storage };
        await using var host = new DurableHost(options, registry, services, NullLoggerFactory.Instance);
        try
        {
            await host.StartAsync();
            var waiting = await host.Client.CreateOrchestrationInstanceAsync(nameof(WaitOrchestrator), "", "wait-1", "x");
            await WaitForRunningAsync(host, waiting.InstanceId);

            await host.RecycleAsync();
            Assert.Equal(1, host.Recycles);

            // durable state lives in storage: the instance that waited across the rebuild finishes on the new worker
            await host.Client.RaiseEventAsync(waiting, "go", "after recycle");
            var resumed = await TestHubs.WaitForCompletionAsync(host.Client, waiting.InstanceId, TimeSpan.FromMinutes(2));
            Assert.Equal(OrchestrationStatus.Completed, resumed.OrchestrationStatus);
            Assert.Equal("\"after recycle\"", resumed.Output);
            var fresh = await host.Client.CreateOrchestrationInstanceAsync(nameof(GreetOrchestrator), "", "greet-after", new GreetInput("bo", 1));
            Assert.Equal(OrchestrationStatus.Completed, (await TestHubs.WaitForCompletionAsync(host.Client, fresh.InstanceId, TimeSpan.FromMinutes(2))).OrchestrationStatus);
        }
        finally
        {
            await host.StopAsync();
            await host.DeleteHubAsync();
        }
    }

    [Fact]
    public async Task MessageHeldAcrossRedeliveries_IsReportedByTheBackendAndSeenByTheWatch()
    {
        var registry = new DurableRegistry().AddOrchestrator<SlowEpisodeOrchestrator>();
        // a 1 s control-queue visibility timeout and a 4 s episode: the event being processed comes back while held
        var options = new DurableHostOptions { TaskHubName = TestHubs.NewName(), StorageConnectionString = TestStack.Storage, ControlVisibilityTimeout = TimeSpan.FromSeconds(1) };
        await using var host = new DurableHost(options, registry, new ServiceCollection().BuildServiceProvider(), NullLoggerFactory.Instance);
        try
        {
            await host.StartAsync();
            var instance = await host.Client.CreateOrchestrationInstanceAsync(nameof(SlowEpisodeOrchestrator), "", "slow-1", "x");
            await WaitForRunningAsync(host, instance.InstanceId);
            await host.Client.RaiseEventAsync(instance, "go", "y");
            var state = await TestHubs.WaitForCompletionAsync(host.Client, instance.InstanceId, TimeSpan.FromMinutes(2));
            Assert.Equal(OrchestrationStatus.Completed, state.OrchestrationStatus);

            var held = host.HeldMessages.TakeWedged();
            Assert.NotNull(held);
            Assert.Equal("slow-1", held.InstanceId);
            Assert.Equal("EventRaised", held.EventType);
            Assert.True(held.Redeliveries >= 2 && held.DequeueCount >= 3, held.ToString());
            // taken once: one wedge, one rebuild
            Assert.Null(host.HeldMessages.TakeWedged());
        }
        finally
        {
            await host.StopAsync();
            await host.DeleteHubAsync();
        }
    }

    private static async Task WaitForRunningAsync(DurableHost host, string instanceId)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while ((await host.Client.GetOrchestrationStateAsync(instanceId))?.OrchestrationStatus != OrchestrationStatus.Running)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{instanceId} did not start within 2 minutes");
            await Task.Delay(200);
        }
    }

    /// <summary>Waits for the event "go" and returns its payload.</summary>
    public sealed class WaitOrchestrator : TaskOrchestrator<string, string>
    {
        public override Task<string> RunAsync(TaskOrchestrationContext context, string input) => context.WaitForExternalEvent<string>("go");
    }

    /// <summary>Waits for "go", then blocks its episode for 4 s (test only: an orchestrator must never block).</summary>
    public sealed class SlowEpisodeOrchestrator : TaskOrchestrator<string, string>
    {
        public override async Task<string> RunAsync(TaskOrchestrationContext context, string input)
        {
            var go = await context.WaitForExternalEvent<string>("go");
            if (!context.IsReplaying)
            {
                // the point of this orchestrator is a blocked episode; the analyzer rightly flags it everywhere else
#pragma warning disable DURABLE0003
                Thread.Sleep(TimeSpan.FromSeconds(4));
#pragma warning restore DURABLE0003
            }
            return go;
        }
    }

    public sealed record GreetInput(string Name, int Times);

    public sealed record Greeting(string Word);

    public sealed class GreetOrchestrator : TaskOrchestrator<GreetInput, string>
    {
        public override async Task<string> RunAsync(TaskOrchestrationContext context, GreetInput input)
        {
            await context.CreateTimer(TimeSpan.FromSeconds(1), CancellationToken.None);
            var retry = TaskOptions.FromRetryPolicy(new RetryPolicy(3, TimeSpan.FromSeconds(1)));
            var parts = new List<string>();
            for (var i = 0; i < input.Times; i++)
            {
                parts.Add(await context.CallActivityAsync<string>(nameof(GreetActivity), new GreetInput(input.Name, i), retry));
            }
            return $"{string.Join(", ", parts)} (after {GreetActivity.Failures} failure)";
        }
    }

    /// <summary>Fails its first call once, so the retry policy has to work.</summary>
    public sealed class GreetActivity(Greeting greeting) : TaskActivity<GreetInput, string>
    {
        public static int Failures;

        public override Task<string> RunAsync(TaskActivityContext context, GreetInput input)
        {
            if (input.Times == 0 && Interlocked.CompareExchange(ref Failures, 1, 0) == 0)
            {
                throw new InvalidOperationException("first call fails on purpose");
            }
            return Task.FromResult($"{greeting.Word} {input.Name}");
        }
    }
}

using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Moq;
using Recon.Core.Ingestion;
using Recon.Core.Pipeline;

namespace Recon.Tests.Functions;

/// <summary>
/// The Functions host's start and liveness rules (<see cref="DurableClientStarter"/>) against a mocked Durable client: the
/// host and its client cannot run here, so this is the seam Moq stands in for. The same rules run for real on DTFx in
/// <c>HubStarterTests</c>.
/// </summary>
public sealed class DurableClientStarterTests
{
    private static readonly DateTime Now = new(2026, 11, 26, 4, 0, 0, DateTimeKind.Utc);
    private static readonly TimeSpan Stalled = TimeSpan.FromSeconds(120);
    private static readonly BatchWork Batch = new("b-bank-a-1", "run-1", new PageRequest("bank_a", "acct-1", new(2025, 3, 3), new(2025, 3, 3), null, 50), 3, 125_00, "USD");

    [Fact]
    public async Task TryStart_StartsUnderTheRunId_AndRefusesAnExistingInstance()
    {
        var client = new FakeClient();
        Assert.True(await new DurableClientStarter(client.Object).TryStartAsync("SomeOrchestrator", "run-1", Batch, CancellationToken.None));
        Assert.Equal(["get run-1", "schedule SomeOrchestrator run-1"], client.Calls);
        Assert.Same(Batch, client.Inputs.Single());

        client.Found = Metadata(OrchestrationRuntimeStatus.Running, Now);
        client.Calls.Clear();
        Assert.False(await new DurableClientStarter(client.Object).TryStartAsync("SomeOrchestrator", "run-1", Batch, CancellationToken.None));
        Assert.Equal(["get run-1"], client.Calls);
    }

    [Theory]
    // alive and checkpointing: left
    [InlineData(OrchestrationRuntimeStatus.Running, 30, LivenessAction.Leave, "get")]
    // stopped checkpointing: ended now, started at a later look
    [InlineData(OrchestrationRuntimeStatus.Running, 300, LivenessAction.Terminate, "get|terminate")]
    // ended: a new execution under the same id
    [InlineData(OrchestrationRuntimeStatus.Terminated, 300, LivenessAction.Start, "get|schedule")]
    [InlineData(OrchestrationRuntimeStatus.Failed, 10, LivenessAction.Start, "get|schedule")]
    // created and never begun for a whole period (start message lost): ended and purged first, then started
    [InlineData(OrchestrationRuntimeStatus.Pending, 300, LivenessAction.Start, "get|terminate|purge|schedule")]
    [InlineData(OrchestrationRuntimeStatus.Pending, 30, LivenessAction.Leave, "get")]
    [InlineData(OrchestrationRuntimeStatus.Suspended, 3_000, LivenessAction.Leave, "get")]
    public async Task EnsureDispatcher_AppliesTheLivenessRule(OrchestrationRuntimeStatus status, int quietSeconds, LivenessAction action, string calls)
    {
        var client = new FakeClient { Found = Metadata(status, Now.AddSeconds(-quietSeconds)) };

        var found = await DurableClientStarter.EnsureDispatcherAsync(client.Object, new DispatcherSettings { StalledAfterSeconds = (int)Stalled.TotalSeconds }, Now);

        Assert.Equal((action, (string?)status.ToString()), found);
        Assert.Equal(calls.Split('|'), client.Calls.Select(c => c.Split(' ')[0]));
    }

    [Fact]
    public async Task EnsureDispatcher_StartsTheOneDispatcher_EndsAStuckOne_LeavesALiveOne()
    {
        var settings = new DispatcherSettings();
        var client = new FakeClient();
        Assert.Equal((LivenessAction.Start, (string?)null), await DurableClientStarter.EnsureDispatcherAsync(client.Object, settings, Now));
        Assert.Equal(["get recon-dispatcher", "schedule DispatcherOrchestrator recon-dispatcher"], client.Calls);
        var state = Assert.IsType<DispatcherState>(client.Inputs.Single());
        Assert.Equal(settings.BaseInFlight, state.MaxInFlight);
        Assert.Same(settings, state.Settings);

        client.Calls.Clear();
        client.Found = Metadata(OrchestrationRuntimeStatus.Running, Now.AddSeconds(-(settings.StalledAfterSeconds + 1)));
        Assert.Equal((LivenessAction.Terminate, "Running"), await DurableClientStarter.EnsureDispatcherAsync(client.Object, settings, Now));
        Assert.Equal("terminate recon-dispatcher", client.Calls[^1]);

        client.Calls.Clear();
        client.Found = Metadata(OrchestrationRuntimeStatus.Running, Now.AddSeconds(-5));
        Assert.Equal((LivenessAction.Leave, "Running"), await DurableClientStarter.EnsureDispatcherAsync(client.Object, settings, Now));
        Assert.Equal(["get recon-dispatcher"], client.Calls);
    }

    private static OrchestrationMetadata Metadata(OrchestrationRuntimeStatus status, DateTime lastUpdatedUtc)
        => new("DispatcherOrchestrator", "id") { RuntimeStatus = status, LastUpdatedAt = new DateTimeOffset(lastUpdatedUtc, TimeSpan.Zero) };

    /// <summary>A Durable client that answers one instance state and records what was asked of it.</summary>
    private sealed class FakeClient
    {
        public FakeClient()
        {
            var mock = new Mock<DurableTaskClient>(MockBehavior.Loose, "test") { CallBase = true };
            mock.Setup(c => c.GetInstancesAsync(It.IsAny<string>(), It.IsAny<bool>(), It.IsAny<CancellationToken>()))
                .Returns((string id, bool _, CancellationToken _) =>
                {
                    Calls.Add($"get {id}");
                    return Task.FromResult(Found);
                });
            mock.Setup(c => c.ScheduleNewOrchestrationInstanceAsync(It.IsAny<TaskName>(), It.IsAny<object?>(), It.IsAny<StartOrchestrationOptions?>(), It.IsAny<CancellationToken>()))
                .Returns((TaskName name, object? input, StartOrchestrationOptions? options, CancellationToken _) =>
                {
                    Calls.Add($"schedule {name.Name} {options?.InstanceId}");
                    Inputs.Add(input);
                    return Task.FromResult(options?.InstanceId ?? "");
                });
            mock.Setup(c => c.TerminateInstanceAsync(It.IsAny<string>(), It.IsAny<object?>(), It.IsAny<CancellationToken>()))
                .Returns((string id, object? _, CancellationToken _) =>
                {
                    Calls.Add($"terminate {id}");
                    return Task.CompletedTask;
                });
            mock.Setup(c => c.PurgeInstanceAsync(It.IsAny<string>(), It.IsAny<CancellationToken>()))
                .Returns((string id, CancellationToken _) =>
                {
                    Calls.Add($"purge {id}");
                    return Task.FromResult(new PurgeResult(1));
                });
            mock.Setup(c => c.PurgeInstanceAsync(It.IsAny<string>(), It.IsAny<PurgeInstanceOptions?>(), It.IsAny<CancellationToken>()))
                .Returns((string id, PurgeInstanceOptions? _, CancellationToken _) =>
                {
                    Calls.Add($"purge {id}");
                    return Task.FromResult(new PurgeResult(1));
                });
            Object = mock.Object;
        }

        public DurableTaskClient Object { get; }

        public OrchestrationMetadata? Found { get; set; }

        public List<string> Calls { get; } = [];

        public List<object?> Inputs { get; } = [];
    }
}

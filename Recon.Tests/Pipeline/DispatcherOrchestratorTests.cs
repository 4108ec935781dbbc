using Recon.Core.Pipeline;

namespace Recon.Tests.Pipeline;

public sealed class DispatcherOrchestratorTests
{
    private static readonly DateTime Start = new(2025, 3, 14, 9, 0, 0, DateTimeKind.Utc);

    [Fact]
    public async Task RunAsync_QueuesEmpty_PollsAfterAWholeSecondAndContinuesAsNew()
    {
        var ctx = new FakeOrchestrationContext(Start).On(nameof(DispatchBatchesActivity), _ => new DispatchResult(0, 0, 0, 0, 0, 0, 0));
        var state = new DispatcherState(8, new DispatcherSettings());

        await new DispatcherOrchestrator().RunAsync(ctx.Object, state);

        Assert.Equal([TimeSpan.FromSeconds(1)], ctx.Timers);
        var next = Assert.IsType<DispatcherState>(ctx.ContinuedWith);
        Assert.Equal(1, next.Rounds);
        Assert.Equal(new DispatchRequest(8, 2, StrandedAfterSeconds: 120, StalledAfterSeconds: 120, MaxRevivals: 5), ctx.InputsOf<DispatchRequest>(nameof(DispatchBatchesActivity)).Single());
    }

    [Fact]
    public async Task RunAsync_NothingAnywhere_WaitsForTheWorkSignalInsteadOfPolling_AndStartsARoundWhenItComes()
    {
        var ctx = new FakeOrchestrationContext(Start).On(nameof(DispatchBatchesActivity), _ => new DispatchResult(0, 0, 0, 0, 0, 0, 0, Idle: true));

        var run = new DispatcherOrchestrator().RunAsync(ctx.Object, new DispatcherState(8, new DispatcherSettings()));
        Assert.False(run.IsCompleted);
        Assert.Equal([DispatcherOrchestrator.WorkEvent], ctx.AwaitedEvents);
        Assert.Equal(Start.AddSeconds(60), ctx.WindowFireAt);
        ctx.Event.SetResult("");
        await run;

        Assert.Empty(ctx.Timers);
        Assert.True(ctx.Window.Task.IsCanceled, "the bounding timer is cancelled once the signal came");
        var next = Assert.IsType<DispatcherState>(ctx.ContinuedWith);
        Assert.Equal((1L, 0L, 1L), (next.WokenByWork, next.WokenByTimer, next.Rounds));
        Assert.True(ctx.PreservedEvents, "signals that came after the wait are carried into the next execution");
    }

    [Fact]
    public async Task RunAsync_NothingAnywhere_NoSignal_LooksAgainAfterTheIdleWait_CappedBelowTheStalledPeriod()
    {
        var settings = new DispatcherSettings { IdleWaitSeconds = 600, StalledAfterSeconds = 120 };
        var ctx = new FakeOrchestrationContext(Start).On(nameof(DispatchBatchesActivity), _ => new DispatchResult(0, 0, 0, 0, 0, 0, 0, Idle: true));

        var run = new DispatcherOrchestrator().RunAsync(ctx.Object, new DispatcherState(8, settings));
        // capped at half the watch's stalled period, so an idle dispatcher is never taken for a stuck one
        Assert.Equal(Start.AddSeconds(60), ctx.WindowFireAt);
        ctx.Window.SetResult();
        await run;

        var next = Assert.IsType<DispatcherState>(ctx.ContinuedWith);
        Assert.Equal((0L, 1L), (next.WokenByWork, next.WokenByTimer));
    }

    [Fact]
    public async Task RunAsync_QueuesEmptyButBatchesStillRunning_PollsAndDropsSignals()
    {
        var ctx = new FakeOrchestrationContext(Start).On(nameof(DispatchBatchesActivity), _ => new DispatchResult(0, 0, 0, 1, 0, 0, 0, Idle: false));

        await new DispatcherOrchestrator().RunAsync(ctx.Object, new DispatcherState(8, new DispatcherSettings()));

        Assert.Equal([TimeSpan.FromSeconds(1)], ctx.Timers);
        Assert.Empty(ctx.AwaitedEvents);
        Assert.False(ctx.PreservedEvents);
    }

    [Fact]
    public async Task RunAsync_DeepQueue_ScalesUpAndGoesStraightOn()
    {
        var ctx = new FakeOrchestrationContext(Start).On(nameof(DispatchBatchesActivity), _ => new DispatchResult(4, 0, 0, 1, 3, 600, 900));

        await new DispatcherOrchestrator().RunAsync(ctx.Object, new DispatcherState(8, new DispatcherSettings()));

        Assert.Empty(ctx.Timers);
        Assert.Equal(16, Assert.IsType<DispatcherState>(ctx.ContinuedWith).MaxInFlight);
    }

    [Fact]
    public async Task RunAsync_RoundFails_BacksOffAndContinuesWithTheErrorInsteadOfEnding()
    {
        var ctx = new FakeOrchestrationContext(Start).On(nameof(DispatchBatchesActivity),
            (Func<object?, DispatchResult>)(_ => throw FakeOrchestrationContext.Failure(nameof(DispatchBatchesActivity), new TimeoutException("queue receive timed out"))));
        var state = new DispatcherState(16, new DispatcherSettings(), Rounds: 41);

        var rounds = await new DispatcherOrchestrator().RunAsync(ctx.Object, state);

        Assert.Equal(42, rounds);
        Assert.Equal([TimeSpan.FromSeconds(5)], ctx.Timers);
        var next = Assert.IsType<DispatcherState>(ctx.ContinuedWith);
        Assert.Equal(1, next.FailedRounds);
        Assert.Equal(16, next.MaxInFlight);
        Assert.Contains("queue receive timed out", next.LastError, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, 0, LivenessAction.Start)]
    [InlineData("Failed", 0, LivenessAction.Start)]
    [InlineData("Terminated", 0, LivenessAction.Start)]
    [InlineData("Completed", 0, LivenessAction.Start)]
    [InlineData("Canceled", 0, LivenessAction.Start)]
    [InlineData("Running", 0, LivenessAction.Leave)]
    [InlineData("Running", 119, LivenessAction.Leave)]
    [InlineData("Running", 121, LivenessAction.Terminate)]
    [InlineData("ContinuedAsNew", 10, LivenessAction.Leave)]
    [InlineData("ContinuedAsNew", 600, LivenessAction.Terminate)]
    [InlineData("Pending", 30, LivenessAction.Leave)]
    [InlineData("Pending", 600, LivenessAction.Start)]
    [InlineData("Suspended", 0, LivenessAction.Leave)]
    [InlineData("Suspended", 86_400, LivenessAction.Leave)]
    public void Liveness_StartsWhatNobodyRuns_EndsWhatStoppedCheckpointing(string? status, int secondsSinceCheckpoint, LivenessAction expected)
    {
        var now = new DateTime(2026, 11, 26, 1, 0, 0, DateTimeKind.Utc);
        Assert.Equal(expected, OrchestrationLiveness.Decide(status, now.AddSeconds(-secondsSinceCheckpoint), now, TimeSpan.FromSeconds(120)));
    }

    [Fact]
    public void Liveness_StatusNames_AreTheRuntimeEnumNamesOfBothHosts()
    {
        // Recon.Worker passes DTFx's OrchestrationStatus.ToString(), Functions the client's OrchestrationRuntimeStatus:
        // a renamed member would make a live orchestration look ended and start a second execution of it
        var now = DateTime.UtcNow;
        foreach (var status in Enum.GetValues<DurableTask.Core.OrchestrationStatus>())
        {
            var alive = status is DurableTask.Core.OrchestrationStatus.Running or DurableTask.Core.OrchestrationStatus.Pending
                or DurableTask.Core.OrchestrationStatus.ContinuedAsNew or DurableTask.Core.OrchestrationStatus.Suspended;
            Assert.Equal(alive ? LivenessAction.Leave : LivenessAction.Start, OrchestrationLiveness.Decide(status.ToString(), now, now, TimeSpan.FromSeconds(120)));
        }
        foreach (var status in Enum.GetValues<Microsoft.DurableTask.Client.OrchestrationRuntimeStatus>())
        {
#pragma warning disable CS0618 // ContinuedAsNew is obsolete in the client enum, and still a name the rule must know
            var alive = status is Microsoft.DurableTask.Client.OrchestrationRuntimeStatus.Running or Microsoft.DurableTask.Client.OrchestrationRuntimeStatus.Pending
                or Microsoft.DurableTask.Client.OrchestrationRuntimeStatus.ContinuedAsNew or Microsoft.DurableTask.Client.OrchestrationRuntimeStatus.Suspended;
#pragma warning restore CS0618
            Assert.Equal(alive ? LivenessAction.Leave : LivenessAction.Start, OrchestrationLiveness.Decide(status.ToString(), now, now, TimeSpan.FromSeconds(120)));
        }
    }

    [Theory]
    [InlineData(8, 1_001, 16)]
    [InlineData(32, 5_000, 32)]
    [InlineData(16, 500, 16)]
    [InlineData(16, 99, 8)]
    [InlineData(8, 0, 8)]
    public void ConcurrencyScaler_FollowsQueueDepthWithHysteresis(int current, long queued, int expected)
        => Assert.Equal(expected, ConcurrencyScaler.Next(current, queued, new DispatcherSettings()));
}

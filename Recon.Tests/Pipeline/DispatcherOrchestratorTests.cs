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
        Assert.Equal(new DispatchRequest(8, 2, 120), ctx.InputsOf<DispatchRequest>(nameof(DispatchBatchesActivity)).Single());
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
    [InlineData(null, true)]
    [InlineData("Failed", true)]
    [InlineData("Terminated", true)]
    [InlineData("Completed", true)]
    [InlineData("Canceled", true)]
    [InlineData("Running", false)]
    [InlineData("Pending", false)]
    [InlineData("ContinuedAsNew", false)]
    [InlineData("Suspended", false)]
    public void DispatcherWatch_StartsOnlyWhenNobodyDispatches(string? status, bool mustStart)
        => Assert.Equal(mustStart, DispatcherWatch.MustStart(status));

    [Fact]
    public void DispatcherWatch_StatusNames_AreTheWorkerRuntimeEnumNames()
    {
        // Recon.Worker passes DTFx's OrchestrationStatus.ToString(); a renamed member would make a live dispatcher look dead
        foreach (var status in Enum.GetValues<DurableTask.Core.OrchestrationStatus>())
        {
            var alive = status is DurableTask.Core.OrchestrationStatus.Running or DurableTask.Core.OrchestrationStatus.Pending
                or DurableTask.Core.OrchestrationStatus.ContinuedAsNew or DurableTask.Core.OrchestrationStatus.Suspended;
            Assert.Equal(!alive, DispatcherWatch.MustStart(status.ToString()));
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

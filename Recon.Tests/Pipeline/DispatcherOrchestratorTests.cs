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
        Assert.Equal(new DispatchRequest(8, 2), ctx.InputsOf<DispatchRequest>(nameof(DispatchBatchesActivity)).Single());
    }

    [Fact]
    public async Task RunAsync_DeepQueue_ScalesUpAndGoesStraightOn()
    {
        var ctx = new FakeOrchestrationContext(Start).On(nameof(DispatchBatchesActivity), _ => new DispatchResult(4, 0, 0, 1, 3, 600, 900));

        await new DispatcherOrchestrator().RunAsync(ctx.Object, new DispatcherState(8, new DispatcherSettings()));

        Assert.Empty(ctx.Timers);
        Assert.Equal(16, Assert.IsType<DispatcherState>(ctx.ContinuedWith).MaxInFlight);
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

using Recon.Worker.Hosting;

namespace Recon.Tests.Worker;

public sealed class DispatcherGuardTests
{
    private static readonly DateTime T0 = new(2026, 11, 26, 2, 0, 0, DateTimeKind.Utc);
    private static readonly TimeSpan Period = TimeSpan.FromSeconds(120);

    [Fact]
    public void StuckDispatcher_IsTerminated_ThenTheWorkerIsRebuiltOnlyIfTheTerminateGoesUnprocessedAWholePeriod()
    {
        var guard = new DispatcherGuard(Period);
        var lastCheckpoint = T0;

        Assert.Equal(DispatcherStep.Leave, guard.Next("Running", lastCheckpoint, T0.AddSeconds(30)));
        // quiet for longer than a period: terminate, asked again at every look while it stays unprocessed
        Assert.Equal(DispatcherStep.Terminate, guard.Next("Running", lastCheckpoint, T0.AddSeconds(150)));
        Assert.Equal(DispatcherStep.Terminate, guard.Next("Running", lastCheckpoint, T0.AddSeconds(180)));
        Assert.Equal(DispatcherStep.Terminate, guard.Next("Running", lastCheckpoint, T0.AddSeconds(269)));
        // a whole period after the first terminate it is still running and quiet: nothing is processed here
        Assert.Equal(DispatcherStep.Recycle, guard.Next("Running", lastCheckpoint, T0.AddSeconds(270)));
        // the rebuilt worker gets its own period before another rebuild
        Assert.Equal(DispatcherStep.Terminate, guard.Next("Running", lastCheckpoint, T0.AddSeconds(300)));
        Assert.Equal(DispatcherStep.Terminate, guard.Next("Running", lastCheckpoint, T0.AddSeconds(419)));
        Assert.Equal(DispatcherStep.Recycle, guard.Next("Running", lastCheckpoint, T0.AddSeconds(420)));
    }

    [Fact]
    public void TerminateThatIsProcessed_LeadsToAStart_AndForgetsTheTerminate()
    {
        var guard = new DispatcherGuard(Period);

        Assert.Equal(DispatcherStep.Terminate, guard.Next("Running", T0, T0.AddSeconds(150)));
        Assert.Equal(DispatcherStep.Start, guard.Next("Terminated", T0.AddSeconds(155), T0.AddSeconds(180)));
        Assert.Equal(DispatcherStep.Leave, guard.Next("Running", T0.AddSeconds(200), T0.AddSeconds(210)));
        // stuck again much later: a new terminate first, not a rebuild counted from the old one
        Assert.Equal(DispatcherStep.Terminate, guard.Next("Running", T0.AddSeconds(200), T0.AddSeconds(1_000)));
        Assert.Equal(DispatcherStep.Terminate, guard.Next("Running", T0.AddSeconds(200), T0.AddSeconds(1_100)));
    }

    [Theory]
    [InlineData(null, DispatcherStep.Start)]
    [InlineData("Failed", DispatcherStep.Start)]
    [InlineData("Completed", DispatcherStep.Start)]
    [InlineData("Suspended", DispatcherStep.Leave)]
    [InlineData("ContinuedAsNew", DispatcherStep.Leave)]
    public void FreshStates_StartOrLeave(string? status, DispatcherStep expected)
        => Assert.Equal(expected, new DispatcherGuard(Period).Next(status, T0, T0.AddSeconds(5)));
}

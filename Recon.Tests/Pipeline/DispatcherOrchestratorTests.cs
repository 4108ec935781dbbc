using Recon.Core.Pipeline;

namespace Recon.Tests.Pipeline;

public sealed class DispatcherOrchestratorTests
{
    private static readonly DateTime Start = new(2025, 3, 14, 9, 0, 0, DateTimeKind.Utc);

    private static readonly BatchWork High = new("b-high", "run-1", new Core.Ingestion.PageRequest("stripe", "acct_1", new(2025, 3, 13), new(2025, 3, 13), null, 100), 0, 5_000_000, "USD");
    private static readonly BatchWork Low = new("b-low", "run-1", new Core.Ingestion.PageRequest("bank_a", "acct-1", new(2025, 3, 13), new(2025, 3, 13), null, 100), 6, 50_00, "EUR");

    /// <summary>A round that fails: ends the run under test (back-off, then continue as new).</summary>
    private static DispatchResult Fail() => throw FakeOrchestrationContext.Failure(nameof(DispatchBatchesActivity), new TimeoutException("stop here"));

    /// <summary>The batches a test's dispatcher has running: each ends when the test says (as on a real host, a batch is
    /// still running when the round that started it looks).</summary>
    private sealed class RunningBatches
    {
        private readonly Queue<(RunBatch Batch, TaskCompletionSource<BatchOutcome> End)> _running = new();

        public int Pending => _running.Count;

        public Task<BatchOutcome> Add(object? input)
        {
            var end = new TaskCompletionSource<BatchOutcome>();
            _running.Enqueue(((RunBatch)input!, end));
            return end.Task;
        }

        /// <summary>Ends the oldest running batch; the dispatcher goes on synchronously up to its next wait.</summary>
        public void EndOldest()
        {
            var (batch, end) = _running.Dequeue();
            end.SetResult(new BatchOutcome(batch.Work.BatchId, BatchStatuses.Done, false, false, null, null));
        }
    }

    [Fact]
    public async Task RunAsync_RoundHandsOutBatches_RunsEachAsOneActivity_AndTheFirstToEndStartsTheNextRound()
    {
        var round = 0;
        var batches = new RunningBatches();
        var ctx = new FakeOrchestrationContext(Start)
            .On(nameof(DispatchBatchesActivity), _ => round++ == 0
                ? new DispatchResult(2, 0, 0, 1, 1, 40, 900, ToRun: [new RunBatch(High, true), new RunBatch(Low, false)])
                : Fail())
            .On(nameof(RunBatchActivity), input => batches.Add(input));

        var run = new DispatcherOrchestrator().RunAsync(ctx.Object, new DispatcherState(8, new DispatcherSettings()));
        // both batches are out and running; the round waits for the first to end, with no poll timer
        Assert.Equal(2, batches.Pending);
        Assert.Empty(ctx.Timers);
        batches.EndOldest();
        await run;

        Assert.Equal([nameof(DispatchBatchesActivity), nameof(RunBatchActivity), nameof(RunBatchActivity), nameof(DispatchBatchesActivity)], ctx.CallNames);
        Assert.Equal([new RunBatch(High, true), new RunBatch(Low, false)], ctx.InputsOf<RunBatch>(nameof(RunBatchActivity)));
        // woken by a batch's end, not by a poll: the only timer is the failed round's back-off
        Assert.Equal([TimeSpan.FromSeconds(5)], ctx.Timers);
        var next = Assert.IsType<DispatcherState>(ctx.ContinuedWith);
        Assert.Equal((2L, 2L), (next.Rounds, next.Dispatched));
    }

    [Fact]
    public async Task RunAsync_BatchesStillRunning_TheWorkSignalStartsTheNextRound()
    {
        var round = 0;
        var stuck = new TaskCompletionSource<BatchOutcome>();
        var ctx = new FakeOrchestrationContext(Start)
            .On(nameof(DispatchBatchesActivity), _ => round++ == 0 ? new DispatchResult(1, 0, 0, 0, 1, 0, 5, ToRun: [new RunBatch(Low, true)]) : Fail())
            .On(nameof(RunBatchActivity), _ => stuck.Task);

        var run = new DispatcherOrchestrator().RunAsync(ctx.Object, new DispatcherState(8, new DispatcherSettings()));
        Assert.False(run.IsCompleted);
        Assert.Equal([DispatcherOrchestrator.WorkEvent], ctx.AwaitedEvents);
        ctx.Event.SetResult("");
        await run;

        Assert.Equal(2, ctx.CallNames.Count(n => n == nameof(DispatchBatchesActivity)));
        Assert.Equal([TimeSpan.FromSeconds(5)], ctx.Timers);
    }

    [Fact]
    public async Task RunAsync_QueuesWaitingButNoneOfItsOwnRunning_PollsAfterAWholeSecond()
    {
        var round = 0;
        // in flight elsewhere (from an earlier execution): nothing of this execution would wake it
        var ctx = new FakeOrchestrationContext(Start)
            .On(nameof(DispatchBatchesActivity), _ => round++ == 0 ? new DispatchResult(0, 0, 0, 8, 0, 0, 30, ToRun: []) : Fail());

        await new DispatcherOrchestrator().RunAsync(ctx.Object, new DispatcherState(8, new DispatcherSettings()));

        Assert.Equal([TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5)], ctx.Timers);
        Assert.Equal(new DispatchRequest(8, 2, StrandedAfterSeconds: 120, StalledAfterSeconds: 120, MaxRevivals: 5), ctx.InputsOf<DispatchRequest>(nameof(DispatchBatchesActivity)).First());
    }

    [Fact]
    public async Task RunAsync_ManyBatches_ContinuesAsNewAfterTheExecutionsShare_WithoutSchedulingInThatEpisode()
    {
        var batches = new RunningBatches();
        var ctx = new FakeOrchestrationContext(Start)
            .On(nameof(DispatchBatchesActivity), _ => new DispatchResult(3, 0, 0, 0, 3, 0, 2_000, ToRun: [new RunBatch(Low, true), new RunBatch(Low, true), new RunBatch(Low, true)]))
            .On(nameof(RunBatchActivity), input => batches.Add(input));

        var run = new DispatcherOrchestrator().RunAsync(ctx.Object, new DispatcherState(8, new DispatcherSettings()));
        for (var ended = 0; !run.IsCompleted && ended < 1_000; ended++)
        {
            batches.EndOldest();
        }
        await run;

        // 34 rounds of 3 reach MaxBatchesPerExecution (100); the last thing before continuing as new is a wait, so the
        // last round's batches went out in an earlier episode (DTFx drops activity messages of a ContinueAsNew episode)
        var rounds = (DispatcherOrchestrator.MaxBatchesPerExecution + 2) / 3;
        Assert.Equal(rounds, ctx.CallNames.Count(n => n == nameof(DispatchBatchesActivity)));
        Assert.Equal(rounds * 3, ctx.CallNames.Count(n => n == nameof(RunBatchActivity)));
        Assert.Equal(nameof(RunBatchActivity), ctx.CallNames.Last());
        var next = Assert.IsType<DispatcherState>(ctx.ContinuedWith);
        Assert.Equal((rounds, rounds * 3L, 32), (next.Rounds, next.Dispatched, next.MaxInFlight));
        Assert.False(ctx.PreservedEvents);
        Assert.Empty(ctx.Timers);
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

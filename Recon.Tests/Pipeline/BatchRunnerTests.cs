using Recon.Core.Ingestion;
using Recon.Core.Pipeline;

namespace Recon.Tests.Pipeline;

/// <summary>
/// The rules of one batch (<see cref="BatchRunner"/>, the body of <see cref="RunBatchActivity"/>): steps scripted by the
/// test, time from a clock the test owns (every wait is recorded to the millisecond and passes at once; the 30 s window
/// fires only when the test says so). The product's steps run against the real stack in the pipeline's end-to-end tests.
/// </summary>
public sealed class BatchRunnerTests
{
    private static readonly DateTime Start = new(2025, 3, 14, 9, 0, 0, DateTimeKind.Utc);

    private static readonly BatchWork Work = new(
        BatchIds.For("run-1", new PageRequest("stripe", "acct_1", new(2025, 3, 13), new(2025, 3, 13), null, 100)),
        "run-1", new PageRequest("stripe", "acct_1", new(2025, 3, 13), new(2025, 3, 13), null, 100), 3, 12_000, "USD");

    private static readonly PostSummary Posted = new(2, 1, 1, 0, 0, 0, 1);

    private static (BatchRunner Runner, ScriptedSteps Steps, TestClock Clock) Happy()
    {
        var steps = new ScriptedSteps();
        var clock = new TestClock(Start);
        return (new BatchRunner(steps, clock), steps, clock);
    }

    [Fact]
    public async Task RunAsync_TokenTakenByTheRound_FetchesMatchesAndRecordsDone_WithoutAskingTheBucket()
    {
        var (runner, steps, clock) = Happy();

        var outcome = await runner.RunAsync(new RunBatch(Work, TokenGranted: true));

        Assert.Equal(["begin", "fetch", "post", "record"], steps.Names);
        Assert.Equal(["txn_1", "txn_2"], steps.Inputs<MatchAndPostInput>("post").Single().TransactionIds);
        var done = steps.Inputs<BatchStatusUpdate>("record").Single();
        Assert.Equal((BatchStatuses.Done, Posted, 0, 3, Start), (done.Status, done.Summary, done.TokenWaits, done.Priority, done.StartedAtUtc));
        Assert.Empty(clock.Waits);
        Assert.Equal(PipelineLimits.BatchWindow, clock.WindowDue);
        Assert.True(clock.WindowDisposed, "the window is stopped when the batch ends");
        Assert.Equal((BatchStatuses.Done, false, false), (outcome.Status, outcome.Late, outcome.Duplicate));
    }

    [Fact]
    public async Task RunAsync_NoTokenYet_AsksTheBucketFirst()
    {
        var (runner, steps, _) = Happy();

        await runner.RunAsync(new RunBatch(Work, TokenGranted: false));

        Assert.Equal(["begin", "acquire", "fetch", "post", "record"], steps.Names);
        Assert.Equal(new TokenRequest("stripe", "balance_transactions", "acct_1", 1), steps.Inputs<TokenRequest>("acquire").Single());
    }

    [Fact]
    public async Task RunAsync_BucketEmpty_WaitsExactlyWhatItSaid_SubSecondWaitsAreNotRoundedUp()
    {
        var (runner, steps, clock) = Happy();
        var answers = new Queue<TokenGrant>([new(false, 250), new(false, 1_400), new(true, 0)]);
        steps.Acquire = _ => answers.Dequeue();

        var outcome = await runner.RunAsync(new RunBatch(Work, TokenGranted: false));

        // to the millisecond: a durable timer would have made these 1 s and 2 s (the backend's timers are whole seconds)
        Assert.Equal([TimeSpan.FromMilliseconds(250), TimeSpan.FromMilliseconds(1_400)], clock.Waits);
        Assert.Equal(3, steps.Names.Count(n => n == "acquire"));
        Assert.Single(steps.Names, n => n == "fetch");
        Assert.Equal(2, steps.Inputs<BatchStatusUpdate>("record").Single().TokenWaits);
        Assert.Equal(BatchStatuses.Done, outcome.Status);
    }

    [Fact]
    public async Task RunAsync_BucketKeepsRefusing_FailsAfterTheWaitLimit()
    {
        var (runner, steps, clock) = Happy();
        steps.Acquire = _ => new TokenGrant(false, 100);

        var outcome = await runner.RunAsync(new RunBatch(Work, TokenGranted: false));

        Assert.Equal(BatchStatuses.Failed, outcome.Status);
        Assert.Equal(PipelineLimits.MaxTokenWaits, clock.Waits.Count);
        Assert.DoesNotContain("fetch", steps.Names);
        Assert.Contains("no stripe token after", steps.Inputs<BatchStatusUpdate>("record").Single().Error, StringComparison.Ordinal);
    }

    [Fact]
    public void BatchIds_ChainRestart_StartsFromTheChainsFirstCursorUnderNewIds()
    {
        var first = new BatchWork(BatchIds.For("run-p", PlaidPage(null)), "run-p", PlaidPage(null), 4, 9_000, "USD");
        var second = BatchIds.FollowUp(first, "c1");
        var third = BatchIds.FollowUp(second, "c2");
        Assert.Equal((2, "c2", (string?)null), (third.Sequence, third.Page.Cursor, third.ChainStartCursor()));

        var restarted = BatchIds.RestartChain(third);
        Assert.Equal((0, (string?)null, 1), (restarted.Sequence, restarted.Page.Cursor, restarted.Generation));
        Assert.NotEqual(first.BatchId, restarted.BatchId);
        var restartedSecond = BatchIds.FollowUp(restarted, "c1");
        Assert.NotEqual(second.BatchId, restartedSecond.BatchId);
        Assert.Equal(restartedSecond.BatchId, BatchIds.FollowUp(BatchIds.RestartChain(second), "c1").BatchId);
        // generation 0 keeps the ids it always had: messages queued before this change still match their rows
        Assert.Equal(second.BatchId, BatchIds.For("run-p", PlaidPage("c1")));

        // a chain that began from a stored cursor restarts from that cursor, not from the very beginning
        var resumed = new BatchWork(BatchIds.For("run-q", PlaidPage("c7")), "run-q", PlaidPage("c7"), 4, 9_000, "USD");
        Assert.Equal("c7", BatchIds.RestartChain(BatchIds.FollowUp(BatchIds.FollowUp(resumed, "c8"), "c9")).Page.Cursor);
    }

    [Fact]
    public async Task RunAsync_PlaidDataChangedMidChain_QueuesTheChainAgainAndPostsNothing()
    {
        var work = BatchIds.FollowUp(BatchIds.FollowUp(new BatchWork("b-plaid-first", "run-p", PlaidPage(null), 4, 9_000, "USD"), "c1"), "c2");
        var (runner, steps, _) = Happy();
        steps.Fetch = _ => Task.FromResult(FetchedPage.ChangedDuringPagination());

        var outcome = await runner.RunAsync(new RunBatch(work, true));

        var queued = Assert.Single(steps.Inputs<IReadOnlyList<BatchWork>>("enqueue")).Single();
        Assert.Equal(BatchIds.RestartChain(work), queued);
        Assert.Null(queued.Page.Cursor);
        Assert.DoesNotContain("post", steps.Names);
        var done = steps.Inputs<BatchStatusUpdate>("record").Single();
        Assert.Equal(BatchStatuses.Done, done.Status);
        Assert.Contains(queued.BatchId, done.Error, StringComparison.Ordinal);
        Assert.Equal((BatchStatuses.Done, queued.BatchId), (outcome.Status, outcome.NextBatchId));
    }

    [Fact]
    public async Task RunAsync_PlaidDataKeepsChanging_FailsAfterTheRestartLimit()
    {
        var work = new BatchWork("b-plaid-last", "run-p", PlaidPage("c3"), 4, 9_000, "USD", Sequence: 3, ChainCursor: null, Generation: PipelineLimits.MaxChainRestarts);
        var (runner, steps, _) = Happy();
        steps.Fetch = _ => Task.FromResult(FetchedPage.ChangedDuringPagination());

        var outcome = await runner.RunAsync(new RunBatch(work, true));

        Assert.Equal(BatchStatuses.Failed, outcome.Status);
        Assert.DoesNotContain("enqueue", steps.Names);
        var failed = steps.Inputs<BatchStatusUpdate>("record").Single();
        Assert.Equal(BatchStatuses.Failed, failed.Status);
        Assert.Contains("kept changing during pagination", failed.Error, StringComparison.Ordinal);
    }

    private static PageRequest PlaidPage(string? cursor) => new("plaid", "access-sandbox-1", new(2025, 3, 1), new(2025, 3, 31), cursor, 50);

    [Fact]
    public async Task RunAsync_ProviderTimesOut_RetriesAfterBackoffWithTheSameToken_AndSucceeds()
    {
        var (runner, steps, clock) = Happy();
        var fetches = 0;
        steps.Fetch = _ => ++fetches == 1
            ? Task.FromException<FetchedPage>(new TimeoutException("stripe did not answer within 10 s"))
            : Task.FromResult(new FetchedPage(false, 0, ["txn_1"], [], null, false));

        var outcome = await runner.RunAsync(new RunBatch(Work, true));

        Assert.Equal(2, fetches);
        Assert.Equal([TimeSpan.FromSeconds(PipelineLimits.FetchBackoffSeconds)], clock.Waits);
        Assert.DoesNotContain("acquire", steps.Names);
        Assert.Equal(BatchStatuses.Done, outcome.Status);
        Assert.Equal(["txn_1"], steps.Inputs<MatchAndPostInput>("post").Single().TransactionIds);
    }

    [Fact]
    public async Task RunAsync_ProviderKeepsTimingOut_RecordsFailedWithTheStepAndTheError()
    {
        var (runner, steps, clock) = Happy();
        steps.Fetch = _ => Task.FromException<FetchedPage>(new TimeoutException("stripe did not answer within 10 s"));

        var outcome = await runner.RunAsync(new RunBatch(Work, true));

        Assert.Equal(BatchStatuses.Failed, outcome.Status);
        Assert.Equal(PipelineLimits.MaxFetchAttempts, steps.Names.Count(n => n == "fetch"));
        Assert.Equal([TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2)], clock.Waits);
        Assert.DoesNotContain("post", steps.Names);
        var failed = steps.Inputs<BatchStatusUpdate>("record").Single();
        Assert.Equal(BatchStatuses.Failed, failed.Status);
        Assert.Equal("fetch: TimeoutException: stripe did not answer within 10 s (after 3 attempts)", failed.Error);
    }

    [Fact]
    public async Task RunAsync_PostFailsOnce_RetriesAfterBackoffAndRecordsDone()
    {
        var (runner, steps, clock) = Happy();
        var posts = 0;
        steps.Post = _ => ++posts == 1 ? Task.FromException<PostSummary>(new TimeoutException("Exception while reading from stream")) : Task.FromResult(Posted);

        var outcome = await runner.RunAsync(new RunBatch(Work, true));

        Assert.Equal(2, posts);
        Assert.Equal([TimeSpan.FromSeconds(PipelineLimits.FetchBackoffSeconds)], clock.Waits);
        Assert.Equal((BatchStatuses.Done, Posted), (outcome.Status, outcome.Summary));
    }

    [Fact]
    public async Task RunAsync_PostKeepsFailing_RecordsFailedAfterMaxAttempts()
    {
        var (runner, steps, _) = Happy();
        steps.Post = _ => Task.FromException<PostSummary>(new InvalidOperationException("database down"));

        var outcome = await runner.RunAsync(new RunBatch(Work, true));

        Assert.Equal(BatchStatuses.Failed, outcome.Status);
        Assert.Equal(PipelineLimits.MaxPostAttempts, steps.Names.Count(n => n == "post"));
        var failed = steps.Inputs<BatchStatusUpdate>("record").Single();
        Assert.Equal("post: InvalidOperationException: database down (after 3 attempts)", failed.Error);
        Assert.Equal("record", steps.Names[^1]);
    }

    [Fact]
    public async Task RunAsync_WindowExceeded_MarksLateOnceWhileItRuns_AndStillFinishes()
    {
        var (runner, steps, clock) = Happy();
        var slowFetch = new TaskCompletionSource<FetchedPage>(TaskCreationOptions.RunContinuationsAsynchronously);
        steps.Fetch = _ => slowFetch.Task;

        var run = runner.RunAsync(new RunBatch(Work, true));
        await steps.WaitForAsync("fetch");
        clock.FireWindow();
        await steps.WaitForAsync("record");
        // marked late while the call is still out, not only when it ends
        Assert.Equal(BatchStatuses.Late, steps.Inputs<BatchStatusUpdate>("record").Single().Status);
        Assert.False(run.IsCompleted);
        slowFetch.SetResult(new FetchedPage(false, 0, ["txn_1"], [], null, false));
        var outcome = await run;

        var updates = steps.Inputs<BatchStatusUpdate>("record").ToList();
        Assert.Equal([BatchStatuses.Late, BatchStatuses.Done], updates.Select(u => u.Status));
        Assert.True(updates[1].Late);
        Assert.True(outcome.Late);
        Assert.Contains("post", steps.Names);
    }

    [Fact]
    public async Task RunAsync_DuplicateOfAFinishedBatch_PostsNothing()
    {
        var (runner, steps, clock) = Happy();
        steps.Begin = _ => new BeginBatchResult(true, BatchStatuses.Done);

        var outcome = await runner.RunAsync(new RunBatch(Work, true));

        Assert.Equal(["begin"], steps.Names);
        Assert.True(outcome.Duplicate);
        Assert.Equal(BatchStatuses.Done, outcome.Status);
        Assert.Null(clock.WindowDue);
    }

    [Fact]
    public async Task RunAsync_ProviderAnswers429_WaitsItsRetryAfterThenTakesANewToken()
    {
        var (runner, steps, clock) = Happy();
        var fetches = new Queue<FetchedPage>([FetchedPage.ThrottledFor(TimeSpan.FromMilliseconds(2_500)), new FetchedPage(false, 0, ["txn_9"], [], null, false)]);
        steps.Fetch = _ => Task.FromResult(fetches.Dequeue());

        await runner.RunAsync(new RunBatch(Work, true));

        Assert.Equal([TimeSpan.FromMilliseconds(2_500)], clock.Waits);
        Assert.Equal(["begin", "fetch", "acquire", "fetch", "post", "record"], steps.Names);
        Assert.Equal(1, steps.Inputs<BatchStatusUpdate>("record").Single().Throttled);
    }

    [Fact]
    public async Task RunAsync_PageHasMore_EnqueuesFollowUpWithDeterministicIdBeforePosting()
    {
        var (runner, steps, _) = Happy();
        steps.Fetch = _ => Task.FromResult(new FetchedPage(false, 0, ["txn_1"], [], "txn_1", true));

        var outcome = await runner.RunAsync(new RunBatch(Work, true));

        var followUp = steps.Inputs<IReadOnlyList<BatchWork>>("enqueue").Single().Single();
        Assert.Equal(("txn_1", 1), (followUp.Page.Cursor, followUp.Sequence));
        Assert.Equal(BatchIds.For("run-1", Work.Page with { Cursor = "txn_1" }), followUp.BatchId);
        Assert.Equal(followUp.BatchId, outcome.NextBatchId);
        Assert.True(steps.Names.ToList().IndexOf("enqueue") < steps.Names.ToList().IndexOf("post"));
    }

    /// <summary>Steps answered by the test, every call recorded in order.</summary>
    private sealed class ScriptedSteps : IBatchSteps
    {
        private readonly List<(string Name, object Input)> _calls = [];
        private readonly SemaphoreSlim _called = new(0);

        public Func<BeginBatch, BeginBatchResult> Begin { get; set; } = _ => new BeginBatchResult(false, BatchStatuses.Running);

        public Func<TokenRequest, TokenGrant> Acquire { get; set; } = _ => new TokenGrant(true, 0);

        public Func<FetchPage, Task<FetchedPage>> Fetch { get; set; } = _ => Task.FromResult(new FetchedPage(false, 0, ["txn_1", "txn_2"], [], null, false));

        public Func<MatchAndPostInput, Task<PostSummary>> Post { get; set; } = _ => Task.FromResult(Posted);

        public IReadOnlyList<string> Names
        {
            get
            {
                lock (_calls)
                {
                    return _calls.Select(c => c.Name).ToList();
                }
            }
        }

        public IReadOnlyList<T> Inputs<T>(string name)
        {
            lock (_calls)
            {
                return _calls.Where(c => c.Name == name).Select(c => (T)c.Input).ToList();
            }
        }

        /// <summary>Until <paramref name="name"/> has been called (bounded: a minute).</summary>
        public async Task WaitForAsync(string name)
        {
            var deadline = DateTime.UtcNow.AddMinutes(1);
            while (!Names.Contains(name))
            {
                Assert.True(DateTime.UtcNow < deadline, $"{name} was not called");
                await _called.WaitAsync(TimeSpan.FromSeconds(1));
            }
        }

        public Task<BeginBatchResult> BeginAsync(BeginBatch input, CancellationToken cancellationToken) => Task.FromResult(Begin(Add("begin", input)));

        public Task<TokenGrant> AcquireAsync(TokenRequest input, CancellationToken cancellationToken) => Task.FromResult(Acquire(Add("acquire", input)));

        public Task<FetchedPage> FetchAsync(FetchPage input, CancellationToken cancellationToken) => Fetch(Add("fetch", input));

        public Task<int> EnqueueAsync(IReadOnlyList<BatchWork> batches, CancellationToken cancellationToken) => Task.FromResult(Add("enqueue", batches).Count);

        public Task<PostSummary> PostAsync(MatchAndPostInput input, CancellationToken cancellationToken) => Post(Add("post", input));

        public Task RecordAsync(BatchStatusUpdate update, CancellationToken cancellationToken)
        {
            Add("record", update);
            return Task.CompletedTask;
        }

        private T Add<T>(string name, T input) where T : notnull
        {
            lock (_calls)
            {
                _calls.Add((name, input));
            }
            _called.Release();
            return input;
        }
    }

    /// <summary>
    /// A clock the test owns: a timer due after the batch window is the window (fired by <see cref="FireWindow"/>); any
    /// other is a wait, recorded and passed at once (the clock moves on by it).
    /// </summary>
    private sealed class TestClock(DateTime start) : TimeProvider
    {
        private readonly Lock _gate = new();
        private DateTimeOffset _now = new(start, TimeSpan.Zero);
        private Timer? _window;

        public List<TimeSpan> Waits { get; } = [];

        public TimeSpan? WindowDue { get; private set; }

        public bool WindowDisposed => _window?.Disposed ?? false;

        public override DateTimeOffset GetUtcNow()
        {
            lock (_gate)
            {
                return _now;
            }
        }

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = new Timer(callback, state);
            if (dueTime == PipelineLimits.BatchWindow)
            {
                WindowDue = dueTime;
                _window = timer;
                return timer;
            }
            lock (_gate)
            {
                Waits.Add(dueTime);
                _now += dueTime;
            }
            // after CreateTimer returned, as a real timer would
            ThreadPool.QueueUserWorkItem(_ => timer.Fire());
            return timer;
        }

        public void FireWindow()
        {
            lock (_gate)
            {
                _now += PipelineLimits.BatchWindow;
            }
            _window!.Fire();
        }

        private sealed class Timer(TimerCallback callback, object? state) : ITimer
        {
            public bool Disposed { get; private set; }

            public void Fire()
            {
                if (!Disposed)
                {
                    callback(state);
                }
            }

            public bool Change(TimeSpan dueTime, TimeSpan period) => true;

            public void Dispose() => Disposed = true;

            public ValueTask DisposeAsync()
            {
                Disposed = true;
                return ValueTask.CompletedTask;
            }
        }
    }
}

using Microsoft.DurableTask;
using Recon.Core.Ingestion;
using Recon.Core.Pipeline;

namespace Recon.Tests.Pipeline;

public sealed class ReconcileBatchOrchestratorTests
{
    private static readonly DateTime Start = new(2025, 3, 14, 9, 0, 0, DateTimeKind.Utc);

    private static readonly BatchWork Work = new(
        BatchIds.For("run-1", new PageRequest("stripe", "acct_1", new(2025, 3, 13), new(2025, 3, 13), null, 100)),
        "run-1", new PageRequest("stripe", "acct_1", new(2025, 3, 13), new(2025, 3, 13), null, 100), 3, 12_000, "USD");

    private static readonly PostSummary Posted = new(2, 1, 1, 0, 0, 0, 1);

    private static FakeOrchestrationContext HappyContext()
        => new FakeOrchestrationContext(Start)
            .On(nameof(BeginBatchActivity), _ => new BeginBatchResult(false, BatchStatuses.Running))
            .On(nameof(AcquireTokensActivity), _ => new TokenGrant(true, 0))
            .On(nameof(FetchProviderPageActivity), _ => new FetchedPage(false, 0, ["txn_1", "txn_2"], [], null, false))
            .On(nameof(MatchAndPostActivity), _ => Posted)
            .On(nameof(EnqueueBatchesActivity), _ => 1)
            .On<object?>(nameof(RecordBatchStatusActivity), _ => true);

    [Fact]
    public async Task RunAsync_TokenGranted_FetchesMatchesAndRecordsDone()
    {
        var ctx = HappyContext();

        var outcome = await new ReconcileBatchOrchestrator().RunAsync(ctx.Object, Work);

        Assert.Equal(
            [nameof(BeginBatchActivity), nameof(AcquireTokensActivity), nameof(FetchProviderPageActivity), nameof(MatchAndPostActivity), nameof(RecordBatchStatusActivity)],
            ctx.CallNames);
        Assert.Equal(new TokenRequest("stripe", "balance_transactions", "acct_1", 1), ctx.InputsOf<TokenRequest>(nameof(AcquireTokensActivity)).Single());
        var posted = ctx.InputsOf<MatchAndPostInput>(nameof(MatchAndPostActivity)).Single();
        Assert.Equal(["txn_1", "txn_2"], posted.TransactionIds);
        var done = ctx.InputsOf<BatchStatusUpdate>(nameof(RecordBatchStatusActivity)).Single();
        Assert.Equal(BatchStatuses.Done, done.Status);
        Assert.Equal(Posted, done.Summary);
        Assert.Equal(0, done.TokenWaits);
        Assert.Empty(ctx.Timers);
        Assert.Equal(Start + PipelineLimits.BatchWindow, ctx.WindowFireAt);
        Assert.False(outcome.Late);
        Assert.Equal(BatchStatuses.Done, outcome.Status);
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
        var ctx = HappyContext().On(nameof(FetchProviderPageActivity), _ => FetchedPage.ChangedDuringPagination());

        var outcome = await new ReconcileBatchOrchestrator().RunAsync(ctx.Object, work);

        var queued = Assert.Single(ctx.InputsOf<BatchWork[]>(nameof(EnqueueBatchesActivity))).Single();
        Assert.Equal(BatchIds.RestartChain(work), queued);
        Assert.Null(queued.Page.Cursor);
        Assert.DoesNotContain(nameof(MatchAndPostActivity), ctx.CallNames);
        var done = ctx.InputsOf<BatchStatusUpdate>(nameof(RecordBatchStatusActivity)).Single();
        Assert.Equal(BatchStatuses.Done, done.Status);
        Assert.Contains(queued.BatchId, done.Error, StringComparison.Ordinal);
        Assert.Equal((BatchStatuses.Done, queued.BatchId), (outcome.Status, outcome.NextBatchId));
    }

    [Fact]
    public async Task RunAsync_PlaidDataKeepsChanging_FailsAfterTheRestartLimit()
    {
        var work = new BatchWork("b-plaid-last", "run-p", PlaidPage("c3"), 4, 9_000, "USD", Sequence: 3, ChainCursor: null, Generation: PipelineLimits.MaxChainRestarts);
        var ctx = HappyContext().On(nameof(FetchProviderPageActivity), _ => FetchedPage.ChangedDuringPagination());

        await Assert.ThrowsAsync<BatchFailedException>(() => new ReconcileBatchOrchestrator().RunAsync(ctx.Object, work));

        Assert.DoesNotContain(nameof(EnqueueBatchesActivity), ctx.CallNames);
        var failed = ctx.InputsOf<BatchStatusUpdate>(nameof(RecordBatchStatusActivity)).Single();
        Assert.Equal(BatchStatuses.Failed, failed.Status);
        Assert.Contains("kept changing during pagination", failed.Error, StringComparison.Ordinal);
    }

    private static PageRequest PlaidPage(string? cursor) => new("plaid", "access-sandbox-1", new(2025, 3, 1), new(2025, 3, 31), cursor, 50);

    [Fact]
    public async Task RunAsync_BucketEmpty_WaitsOnWholeSecondTimerThenAcquiresAgain()
    {
        var answers = new Queue<TokenGrant>([new(false, 250), new(false, 1_400), new(true, 0)]);
        var ctx = HappyContext().On(nameof(AcquireTokensActivity), _ => answers.Dequeue());

        var outcome = await new ReconcileBatchOrchestrator().RunAsync(ctx.Object, Work);

        // 250 ms and 1.4 s become 1 s and 2 s: the backend truncates timers to whole seconds
        Assert.Equal([TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2)], ctx.Timers);
        Assert.Equal(3, ctx.CallNames.Count(n => n == nameof(AcquireTokensActivity)));
        Assert.Single(ctx.CallNames, n => n == nameof(FetchProviderPageActivity));
        Assert.Equal(2, ctx.InputsOf<BatchStatusUpdate>(nameof(RecordBatchStatusActivity)).Single().TokenWaits);
        Assert.Equal(BatchStatuses.Done, outcome.Status);
    }

    [Fact]
    public async Task RunAsync_ProviderTimesOut_RetriesAfterBackoffAndSucceeds()
    {
        var fetches = 0;
        var ctx = HappyContext().On(nameof(FetchProviderPageActivity), _ => ++fetches == 1
            ? Task.FromException<FetchedPage>(FakeOrchestrationContext.Failure(nameof(FetchProviderPageActivity), new TimeoutException("stripe did not answer within 10 s")))
            : Task.FromResult(new FetchedPage(false, 0, ["txn_1"], [], null, false)));

        var outcome = await new ReconcileBatchOrchestrator().RunAsync(ctx.Object, Work);

        Assert.Equal(2, fetches);
        Assert.Equal([TimeSpan.FromSeconds(PipelineLimits.FetchBackoffSeconds)], ctx.Timers);
        Assert.Equal(BatchStatuses.Done, outcome.Status);
        Assert.Equal(["txn_1"], ctx.InputsOf<MatchAndPostInput>(nameof(MatchAndPostActivity)).Single().TransactionIds);
    }

    [Fact]
    public async Task RunAsync_PostFailsOnce_RetriesAfterBackoffAndRecordsDone()
    {
        var posts = 0;
        var ctx = HappyContext().On(nameof(MatchAndPostActivity), _ => ++posts == 1
            ? Task.FromException<PostSummary>(FakeOrchestrationContext.Failure(nameof(MatchAndPostActivity), new TimeoutException("Exception while reading from stream")))
            : Task.FromResult(Posted));

        var outcome = await new ReconcileBatchOrchestrator().RunAsync(ctx.Object, Work);

        Assert.Equal(2, posts);
        Assert.Equal([TimeSpan.FromSeconds(PipelineLimits.FetchBackoffSeconds)], ctx.Timers);
        Assert.Equal(BatchStatuses.Done, outcome.Status);
        Assert.Equal(Posted, outcome.Summary);
    }

    [Fact]
    public async Task RunAsync_PostKeepsFailing_RecordsFailedAfterMaxAttempts()
    {
        var posts = 0;
        var ctx = HappyContext().On(nameof(MatchAndPostActivity), _ =>
        {
            posts++;
            return Task.FromException<PostSummary>(FakeOrchestrationContext.Failure(nameof(MatchAndPostActivity), new InvalidOperationException("database down")));
        });

        await Assert.ThrowsAsync<TaskFailedException>(() => new ReconcileBatchOrchestrator().RunAsync(ctx.Object, Work));

        Assert.Equal(PipelineLimits.MaxPostAttempts, posts);
        var failed = ctx.InputsOf<BatchStatusUpdate>(nameof(RecordBatchStatusActivity)).Single();
        Assert.Equal(BatchStatuses.Failed, failed.Status);
        Assert.Contains("database down", failed.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_ProviderKeepsTimingOut_RecordsFailedWithTheErrorAndRethrows()
    {
        var ctx = HappyContext().On(nameof(FetchProviderPageActivity),
            _ => Task.FromException<FetchedPage>(FakeOrchestrationContext.Failure(nameof(FetchProviderPageActivity), new TimeoutException("stripe did not answer within 10 s"))));

        await Assert.ThrowsAsync<TaskFailedException>(() => new ReconcileBatchOrchestrator().RunAsync(ctx.Object, Work));

        Assert.Equal(PipelineLimits.MaxFetchAttempts, ctx.CallNames.Count(n => n == nameof(FetchProviderPageActivity)));
        Assert.DoesNotContain(nameof(MatchAndPostActivity), ctx.CallNames);
        var failed = ctx.InputsOf<BatchStatusUpdate>(nameof(RecordBatchStatusActivity)).Single();
        Assert.Equal(BatchStatuses.Failed, failed.Status);
        Assert.Contains("did not answer within 10 s", failed.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_WindowExceeded_MarksLateOnceAndStillFinishes()
    {
        var slowFetch = new TaskCompletionSource<FetchedPage>();
        var ctx = HappyContext().On(nameof(FetchProviderPageActivity), _ => slowFetch.Task);

        var run = new ReconcileBatchOrchestrator().RunAsync(ctx.Object, Work);
        Assert.False(run.IsCompleted);
        ctx.Now = Start.AddSeconds(31);
        ctx.Window.SetResult();
        slowFetch.SetResult(new FetchedPage(false, 0, ["txn_1"], [], null, false));
        var outcome = await run;

        var updates = ctx.InputsOf<BatchStatusUpdate>(nameof(RecordBatchStatusActivity)).Select(u => u.Status).ToList();
        Assert.Equal([BatchStatuses.Late, BatchStatuses.Done], updates);
        Assert.True(outcome.Late);
        Assert.Equal(BatchStatuses.Done, outcome.Status);
        Assert.Contains(nameof(MatchAndPostActivity), ctx.CallNames);
    }

    [Fact]
    public async Task RunAsync_DuplicateOfAFinishedBatch_PostsNothing()
    {
        var ctx = HappyContext().On(nameof(BeginBatchActivity), _ => new BeginBatchResult(true, BatchStatuses.Done));

        var outcome = await new ReconcileBatchOrchestrator().RunAsync(ctx.Object, Work);

        Assert.Equal([nameof(BeginBatchActivity)], ctx.CallNames);
        Assert.True(outcome.Duplicate);
        Assert.Equal(BatchStatuses.Done, outcome.Status);
    }

    [Fact]
    public async Task RunAsync_ProviderAnswers429_WaitsRetryAfterThenFetchesAgain()
    {
        var fetches = new Queue<FetchedPage>([FetchedPage.ThrottledFor(TimeSpan.FromMilliseconds(2_500)), new FetchedPage(false, 0, ["txn_9"], [], null, false)]);
        var ctx = HappyContext().On(nameof(FetchProviderPageActivity), _ => fetches.Dequeue());

        await new ReconcileBatchOrchestrator().RunAsync(ctx.Object, Work);

        Assert.Equal([TimeSpan.FromSeconds(3)], ctx.Timers);
        Assert.Equal(2, ctx.CallNames.Count(n => n == nameof(AcquireTokensActivity)));
        Assert.Equal(1, ctx.InputsOf<BatchStatusUpdate>(nameof(RecordBatchStatusActivity)).Single().Throttled);
    }

    [Fact]
    public async Task RunAsync_PageHasMore_EnqueuesFollowUpWithDeterministicIdBeforePosting()
    {
        var ctx = HappyContext().On(nameof(FetchProviderPageActivity), _ => new FetchedPage(false, 0, ["txn_1"], [], "txn_1", true));

        var outcome = await new ReconcileBatchOrchestrator().RunAsync(ctx.Object, Work);

        var followUp = ctx.InputsOf<BatchWork[]>(nameof(EnqueueBatchesActivity)).Single().Single();
        Assert.Equal("txn_1", followUp.Page.Cursor);
        Assert.Equal(1, followUp.Sequence);
        Assert.Equal(BatchIds.For("run-1", Work.Page with { Cursor = "txn_1" }), followUp.BatchId);
        Assert.Equal(followUp.BatchId, outcome.NextBatchId);
        var names = ctx.CallNames.ToList();
        Assert.True(names.IndexOf(nameof(EnqueueBatchesActivity)) < names.IndexOf(nameof(MatchAndPostActivity)));
    }
}

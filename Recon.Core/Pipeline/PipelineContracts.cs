namespace Recon.Core.Pipeline;

/// <summary>What the intake did with a run (the <c>output</c> of its status).</summary>
/// <param name="RunId">The run.</param>
/// <param name="Batches">First-page batches planned.</param>
/// <param name="Enqueued">How many of them were put on a queue now (fewer when a duplicate found them done).</param>
/// <param name="Errors">Validation errors; the request was refused when not empty.</param>
public sealed record IngestResult(string RunId, int Batches, int Enqueued, IReadOnlyList<string> Errors);

/// <summary>Input of <see cref="DispatchBatchesActivity"/>.</summary>
/// <param name="MaxInFlight">Batches allowed to run at once.</param>
/// <param name="ReservedForHigh">Slots low batches may not take, so a high batch finds one within a poll.</param>
/// <param name="StrandedAfterSeconds">Queue again batches queued this long with both queues empty; 0 turns it off.</param>
/// <param name="StalledAfterSeconds">Queue again batches that made no progress for this long (their runner died with a
/// worker); 0 turns it off.</param>
/// <param name="MaxRevivals">Requeues a stalled batch gets before it is marked failed with the reason.</param>
public sealed record DispatchRequest(int MaxInFlight, int ReservedForHigh, int StrandedAfterSeconds = 0, int StalledAfterSeconds = 0, int MaxRevivals = 5);

/// <summary>What one dispatch round did; <paramref name="Requeued"/> counts stranded batches queued again;
/// <paramref name="Idle"/>: nothing was queued, in flight, started or unfinished in the database — the dispatcher may
/// wait for work instead of polling.</summary>
/// <paramref name="ToRun"/>: the batches this round moved to running, each with whether its token was already taken.
public sealed record DispatchResult(int Started, int Duplicates, int Poisoned, int InFlightHigh, int InFlightLow, long QueuedHigh, long QueuedLow, int Requeued = 0,
    bool Idle = false, IReadOnlyList<RunBatch>? ToRun = null)
{
    public long Queued => QueuedHigh + QueuedLow;
}

/// <summary>The dispatcher's state, carried across ContinueAsNew.</summary>
/// <param name="MaxInFlight">The current in-flight cap (scaled with queue depth).</param>
/// <param name="Settings">The scaling settings.</param>
/// <param name="Rounds">Rounds since the dispatcher was created (for status only).</param>
/// <param name="FailedRounds">Rounds whose dispatch activity failed (the dispatcher backed off and went on).</param>
/// <param name="LastError">The last failed round's error, for status.</param>
/// <param name="WokenByWork">Idle waits ended by a "work" signal (an enqueue), for status and tests.</param>
/// <param name="WokenByTimer">Idle waits that ran out (<see cref="DispatcherSettings.IdleWaitSeconds"/>).</param>
/// <param name="Dispatched">Batches handed to runners since the dispatcher was created (for status only).</param>
public sealed record DispatcherState(int MaxInFlight, DispatcherSettings Settings, long Rounds = 0, long FailedRounds = 0, string? LastError = null,
    long WokenByWork = 0, long WokenByTimer = 0, long Dispatched = 0);

/// <summary>How the dispatcher scales (section <c>Recon:Dispatcher</c>).</summary>
public sealed record DispatcherSettings
{
    public const string SectionName = "Recon:Dispatcher";

    /// <summary>Batches in flight when the queues are short. 8: one per database slot of a default worker.</summary>
    public int BaseInFlight { get; init; } = 8;

    /// <summary>Ceiling when the queues are long; the connection budget bounds it (each batch holds at most one
    /// connection at a time, so this many batches need at most this many connections).</summary>
    public int MaxInFlight { get; init; } = 32;

    /// <summary>Scale up while more than this many batches are queued.</summary>
    public int ScaleUpQueued { get; init; } = 1_000;

    /// <summary>Scale back down once fewer than this many are queued (hysteresis: no flapping between the two).</summary>
    public int ScaleDownQueued { get; init; } = 100;

    /// <summary>Slots only high batches may take: a high batch never waits for a slow low one to finish.</summary>
    public int ReservedForHigh { get; init; } = 2;

    /// <summary>Whole seconds between polls while batches are in flight or queued (durable timers are whole seconds on
    /// Azure Storage).</summary>
    public int IdlePollSeconds { get; init; } = 1;

    /// <summary>
    /// With nothing queued, in flight or unfinished, the dispatcher stops polling and waits for a "work" signal (sent by
    /// every enqueue) for at most this long, then looks once more. 60 s: one round a minute when idle instead of one a
    /// second, and below <see cref="StalledAfterSeconds"/>, so an idle dispatcher still checkpoints often enough not to be
    /// taken for a stuck one by the watch (the orchestrator caps it at half of that).
    /// </summary>
    public int IdleWaitSeconds { get; init; } = 60;

    /// <summary>Whole seconds to wait after a round whose dispatch activity failed, before polling again.</summary>
    public int FailedRoundBackoffSeconds { get; init; } = 5;

    /// <summary>
    /// A batch still queued this long after it was queued, while both queues are empty, lost its message (a crash between
    /// writing the row and sending the message, or a message poisoned before it started); the dispatcher queues it again.
    /// Duplicates are harmless: a round hands out only batches still queued, and a finished batch posts nothing.
    /// </summary>
    public int StrandedAfterSeconds { get; init; } = 120;

    /// <summary>
    /// A batch running this long with no sign of progress (dispatched or begun) is looked at (at most once per this
    /// period) and queued again: its runner died with a worker, or its activity message is held back by the storage
    /// backend's doubling back-off. A healthy batch ends within its 30 s window plus retries, so 120 s is four windows.
    /// The dispatcher itself is watched with the same period.
    /// </summary>
    public int StalledAfterSeconds { get; init; } = 120;

    /// <summary>Requeues a stalled batch gets; after that it is marked failed with the reason, for a person to look at.</summary>
    public int MaxRevivals { get; init; } = 5;
}

/// <summary>Input of <see cref="IBatchSteps.BeginAsync"/>.</summary>
public sealed record BeginBatch(string BatchId, DateTime StartedAtUtc);

/// <summary>Whether the batch may run: false when an earlier run already finished it (a duplicate).</summary>
public sealed record BeginBatchResult(bool AlreadyFinished, string Status);

/// <summary>Input of <see cref="IBatchSteps.AcquireAsync"/>.</summary>
public sealed record TokenRequest(string Provider, string Endpoint, string? Scope, int Tokens);

/// <summary>The rate limiter's answer; <paramref name="RetryAfterMs"/> when refused.</summary>
public sealed record TokenGrant(bool Granted, long RetryAfterMs);

/// <summary>Input of <see cref="IBatchSteps.FetchAsync"/>.</summary>
public sealed record FetchPage(string BatchId, Recon.Core.Ingestion.PageRequest Page);

/// <summary>A fetched page, stored; only ids travel through the orchestration history (pages stay out of it).</summary>
/// <param name="Throttled">The provider answered 429; wait <paramref name="RetryAfterMs"/> and try again.</param>
/// <param name="RetryAfterMs">The provider's Retry-After when throttled.</param>
/// <param name="TransactionIds">Provider ids of the page's transactions (stored by the fetch).</param>
/// <param name="RemovedIds">Provider ids the provider withdrew.</param>
/// <param name="NextCursor">Cursor of the next page.</param>
/// <param name="HasMore">Another page follows.</param>
/// <param name="ChainChanged">The provider's data changed during pagination (nothing stored): the chain starts again from its first cursor.</param>
public sealed record FetchedPage(bool Throttled, long RetryAfterMs, IReadOnlyList<string> TransactionIds, IReadOnlyList<string> RemovedIds, string? NextCursor, bool HasMore,
    bool ChainChanged = false)
{
    public static FetchedPage ThrottledFor(TimeSpan retryAfter) => new(true, (long)Math.Ceiling(retryAfter.TotalMilliseconds), [], [], null, false);

    /// <summary>The provider's data changed during pagination: the chain must start again from its first cursor.</summary>
    public static FetchedPage ChangedDuringPagination() => new(false, 0, [], [], null, false, ChainChanged: true);
}

/// <summary>Input of <see cref="IBatchSteps.PostAsync"/>.</summary>
public sealed record MatchAndPostInput(string BatchId, Recon.Core.Ingestion.PageRequest Page, IReadOnlyList<string> TransactionIds);

/// <summary>Counts of what a batch posted.</summary>
public sealed record PostSummary(int Transactions, int Matched, int Proposed, int Ambiguous, int Unmatched, int Duplicates, int Exceptions);

/// <summary>Terminal and intermediate batch states, as stored in <c>batches.status</c>.</summary>
public static class BatchStatuses
{
    public const string Queued = "queued";
    public const string Running = "running";
    public const string Done = "done";
    public const string Failed = "failed";

    /// <summary>Over its 30 s window and still running; becomes <see cref="Done"/> (with <c>late = true</c>) when it finishes.</summary>
    public const string Late = "late";
}

/// <summary>Input of <see cref="IBatchSteps.RecordAsync"/>: a batch went late, finished or failed.</summary>
/// <param name="BatchId">The batch.</param>
/// <param name="Status">late, done or failed.</param>
/// <param name="AtUtc">When (orchestration time).</param>
/// <param name="Error">Why it failed.</param>
/// <param name="TokenWaits">Timer waits for a rate-limit token.</param>
/// <param name="Throttled">Provider 429s answered.</param>
/// <param name="Summary">What it posted.</param>
/// <param name="Priority">The batch's priority (for the latency metric by priority).</param>
/// <param name="StartedAtUtc">When the batch started (its latency is <paramref name="AtUtc"/> minus this).</param>
/// <param name="Late">It ran past its window.</param>
public sealed record BatchStatusUpdate(string BatchId, string Status, DateTime AtUtc, string? Error = null, int TokenWaits = 0, int Throttled = 0, PostSummary? Summary = null,
    int? Priority = null, DateTime? StartedAtUtc = null, bool Late = false);

/// <summary>What one batch came to (<see cref="BatchRunner"/>, the answer of <see cref="RunBatchActivity"/>).</summary>
public sealed record BatchOutcome(string BatchId, string Status, bool Late, bool Duplicate, string? NextBatchId, PostSummary? Summary);

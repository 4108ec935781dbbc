using Recon.Core.Ingestion;

namespace Recon.Core.Pipeline;

/// <summary>A batch message taken from a priority queue; <see cref="Receipt"/> completes or poisons it.</summary>
/// <param name="Batch">The batch, or null when the message could not be read (then <paramref name="Error"/> says why).</param>
/// <param name="High">Taken from recon-high.</param>
/// <param name="Receipt">Opaque handle for completing the message.</param>
/// <param name="DequeueCount">How often the message has been handed out.</param>
/// <param name="Error">Why the message is unreadable.</param>
public sealed record QueuedBatch(BatchWork? Batch, bool High, object Receipt, long DequeueCount, string? Error = null);

/// <summary>The recon-high / recon-low queues as the pipeline uses them.</summary>
public interface IBatchQueue
{
    Task EnqueueAsync(BatchWork batch, CancellationToken cancellationToken);

    /// <summary>Up to <paramref name="maxHigh"/> + <paramref name="maxLow"/> messages, high first.</summary>
    Task<IReadOnlyList<QueuedBatch>> DequeueAsync(int maxHigh, int maxLow, CancellationToken cancellationToken);

    Task CompleteAsync(QueuedBatch message, CancellationToken cancellationToken);

    /// <summary>Moves the message to the poison queue with <paramref name="reason"/>.</summary>
    Task PoisonAsync(QueuedBatch message, string reason, CancellationToken cancellationToken);

    /// <summary>Approximate messages waiting in (high, low).</summary>
    Task<(long High, long Low)> DepthAsync(CancellationToken cancellationToken);
}

/// <summary>Starts a ReconcileBatch orchestration with the batch id as instance id; the host supplies it (the
/// Durable client of Functions, the TaskHubClient of Recon.Worker).</summary>
public interface IBatchStarter
{
    /// <summary>False when an instance with that id already exists (a duplicate message).</summary>
    Task<bool> TryStartAsync(BatchWork batch, CancellationToken cancellationToken);

    /// <summary>
    /// For a batch that has been running (or waiting to begin) for long: looks at its orchestration and applies
    /// <see cref="OrchestrationLiveness"/> with <paramref name="stalledAfter"/> — starts a new execution under the same id
    /// when none is alive (only if <paramref name="mayStart"/>), ends one that has stopped checkpointing, leaves the rest.
    /// </summary>
    Task<Revival> ReviveAsync(BatchWork batch, TimeSpan stalledAfter, bool mayStart, CancellationToken cancellationToken);

    /// <summary>Tells the dispatcher there is work (its <see cref="DispatcherOrchestrator.WorkEvent"/>), so an idle one
    /// starts a round at once.</summary>
    Task NotifyDispatcherAsync(CancellationToken cancellationToken);
}

/// <summary>What <see cref="IBatchStarter.ReviveAsync"/> found and did.</summary>
/// <param name="Action">What the liveness rule called for.</param>
/// <param name="Status">The orchestration's runtime status as found (null: no instance).</param>
/// <param name="Done">The action was carried out (false when a start was not allowed, or the instance changed meanwhile).</param>
public sealed record Revival(LivenessAction Action, string? Status, bool Done);

/// <summary>Stores a fetched page (provider transactions upserted on (provider, provider id), removals applied).</summary>
public interface IPageStore
{
    Task StoreAsync(string batchId, ProviderPage page, CancellationToken cancellationToken);
}

/// <summary>Loads ledger candidates, matches and posts a batch's transactions in one transaction.</summary>
public interface IBatchPoster
{
    Task<PostSummary> MatchAndPostAsync(MatchAndPostInput input, CancellationToken cancellationToken);
}

/// <summary>What a batch is worth before it is fetched, and the priority that value earns.</summary>
public interface IBatchValuation
{
    /// <summary>The expected value of a page's day (e.g. the ledger's total for that account and day).</summary>
    Task<(long ValueMinor, string Currency)> ValueOfAsync(PageRequest page, CancellationToken cancellationToken);

    /// <summary>0 (high) .. 10 (lowest).</summary>
    int PriorityOf(long valueMinor, string currency);
}

/// <summary>Counters the pipeline reports (late batches, finished batches); the host wires them to telemetry.</summary>
public interface IPipelineMetrics
{
    void BatchStatus(BatchStatusUpdate update);
}

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

/// <summary>Signals the dispatcher; the host supplies it (the Durable client of Functions, the TaskHubClient of Recon.Worker).</summary>
public interface IBatchStarter
{
    /// <summary>Tells the dispatcher there is work (its <see cref="DispatcherOrchestrator.WorkEvent"/>), so an idle one
    /// starts a round at once.</summary>
    Task NotifyDispatcherAsync(CancellationToken cancellationToken);
}

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

namespace Recon.Core.Queues;

/// <summary>Recon's storage queues, bound from <c>Recon:Queues</c>: the priority lanes of <see cref="PriorityQueueClient"/>
/// and the ingest queue; tests give each run its own names.</summary>
public sealed class PriorityQueueOptions
{
    public const string SectionName = "Recon:Queues";

    public string HighQueue { get; set; } = QueueNames.High;

    public string LowQueue { get; set; } = QueueNames.Low;

    /// <summary>Reconciliation requests (<see cref="QueueNames.Ingest"/>); its poison queue is NAME-poison. The Functions
    /// trigger listens on the constant name, so only tests change this.</summary>
    public string Ingest { get; set; } = QueueNames.Ingest;

    /// <summary>Ledger entries to import (<see cref="QueueNames.Ledger"/>); its poison queue is NAME-poison. As with
    /// <see cref="Ingest"/>, only tests change it.</summary>
    public string Ledger { get; set; } = QueueNames.Ledger;

    /// <summary>How long a taken ingest message stays invisible: starting an ingest takes well under a second, 30 s
    /// covers a slow Azurite under load; after a crash the message is back within that (host.json visibilityTimeout).</summary>
    public TimeSpan IngestVisibilityTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Share of dequeued messages guaranteed to the low queue while both queues hold work: 10%, enough to drain a
    /// backlog of small jobs over hours of high-value traffic while costing high work one slot in ten.
    /// </summary>
    public int GuaranteedLowSharePercent { get; set; } = 10;

    /// <summary>
    /// A message handed out more often than this without completing goes to the poison queue: 5 attempts ride out a
    /// provider outage of a few minutes (with the retry delays) without letting a broken batch cycle forever.
    /// </summary>
    public int MaxDequeueCount { get; set; } = 5;
}

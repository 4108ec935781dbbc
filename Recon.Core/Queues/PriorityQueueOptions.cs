namespace Recon.Core.Queues;

/// <summary>Settings of <see cref="PriorityQueueClient"/>, bound from <c>Recon:Queues</c>.</summary>
public sealed class PriorityQueueOptions
{
    public const string SectionName = "Recon:Queues";

    public string HighQueue { get; set; } = QueueNames.High;

    public string LowQueue { get; set; } = QueueNames.Low;

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

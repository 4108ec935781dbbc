using Recon.Core.Queues;

namespace Recon.Worker.Pipeline;

/// <summary>The ingest queue (section <c>Recon:Queues</c>, beside the priority queues' <c>HighQueue</c> / <c>LowQueue</c>
/// of <see cref="PriorityQueueOptions"/>); tests give each run its own names.</summary>
public sealed class QueueSettings
{
    public const string SectionName = PriorityQueueOptions.SectionName;

    public string Ingest { get; set; } = QueueNames.Ingest;

    /// <summary>Poison queue of the ingest queue (the Functions host's naming: NAME-poison).</summary>
    public string IngestPoison => QueueNames.Poison(Ingest);

    /// <summary>How long a taken ingest message stays invisible: starting an ingest takes well under a second, 30 s
    /// covers a slow Azurite under load; after a crash the message is back within that.</summary>
    public TimeSpan IngestVisibilityTimeout { get; set; } = TimeSpan.FromSeconds(30);
}

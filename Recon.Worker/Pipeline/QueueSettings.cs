namespace Recon.Worker.Pipeline;

/// <summary>Queue names (section <c>Recon:Queues</c>); tests give each run its own.</summary>
public sealed class QueueSettings
{
    public const string SectionName = "Recon:Queues";

    public string Ingest { get; set; } = "recon-ingest";

    public string High { get; set; } = "recon-high";

    public string Low { get; set; } = "recon-low";

    /// <summary>Poison queue of the ingest queue (the Functions host's naming: NAME-poison).</summary>
    public string IngestPoison => Ingest + "-poison";

    public string BatchPoison => Low + "-poison";

    /// <summary>How long a taken ingest message stays invisible: starting an ingest takes well under a second, 30 s
    /// covers a slow Azurite under load; after a crash the message is back within that.</summary>
    public TimeSpan IngestVisibilityTimeout { get; set; } = TimeSpan.FromSeconds(30);
}

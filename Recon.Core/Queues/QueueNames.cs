namespace Recon.Core.Queues;

/// <summary>Every storage queue name Recon uses, in one place (Functions triggers and the worker read these).</summary>
public static class QueueNames
{
    /// <summary>Priority 0 batches.</summary>
    public const string High = "recon-high";

    /// <summary>Priority 1..10 batches.</summary>
    public const string Low = "recon-low";

    /// <summary>Reconciliation requests, before they are split into batches.</summary>
    public const string Ingest = "recon-ingest";

    /// <summary>Ledger entries from the ledger system (a JSON array or NDJSON per message).</summary>
    public const string Ledger = "recon-ledger";

    public const string PoisonSuffix = "-poison";

    public const string HighPoison = High + PoisonSuffix;
    public const string LowPoison = Low + PoisonSuffix;
    public const string IngestPoison = Ingest + PoisonSuffix;
    public const string LedgerPoison = Ledger + PoisonSuffix;

    /// <summary>The poison queue of <paramref name="queue"/>: messages that could not be read or kept failing, with the reason.</summary>
    public static string Poison(string queue) => queue + PoisonSuffix;
}

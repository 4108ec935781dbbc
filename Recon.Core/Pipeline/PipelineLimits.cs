namespace Recon.Core.Pipeline;

/// <summary>The pipeline's limits, each with its reason.</summary>
public static class PipelineLimits
{
    /// <summary>A batch should finish within 30 s of starting (the service level Recon exists for).</summary>
    public static readonly TimeSpan BatchWindow = TimeSpan.FromSeconds(30);

    /// <summary>One provider call may take 10 s, a third of the window, so a retry still fits; enforced inside the
    /// activity, because a durable timer cannot stop a running activity.</summary>
    public static readonly TimeSpan ProviderCallTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Fetch attempts per page before the batch fails: three 10 s attempts already overrun the window.</summary>
    public const int MaxFetchAttempts = 3;

    /// <summary>First back-off between fetch attempts, doubled each time; whole seconds (durable timers are).</summary>
    public const int FetchBackoffSeconds = 1;

    /// <summary>Match-and-post attempts before the batch fails: posting is one transaction (all or nothing) and keyed
    /// on (provider, provider id), so a retry after a database timeout or a dropped connection is safe; three attempts
    /// ride out a few seconds of overload without hiding a real fault.</summary>
    public const int MaxPostAttempts = 3;

    /// <summary>Token waits (and 429 waits) per batch before it fails: a bucket that refuses 60 times is broken, not busy.</summary>
    public const int MaxTokenWaits = 60;

    /// <summary>Restarts of a cursor chain whose data changed during pagination (Plaid's
    /// TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION) before its batch fails: as many as the sync loop allows.</summary>
    public const int MaxChainRestarts = Ingestion.Plaid.PlaidSyncLoop.MaxMutationRestarts;

    /// <summary>The longest single token wait served; a longer answer is clamped so the window check runs.</summary>
    public const int MaxTokenWaitSeconds = 30;

    /// <summary>Rounds a duration up to whole seconds, at least one: the Azure Storage backend truncates timers to whole
    /// seconds, so a 300 ms wait would fire at once and the orchestration would spin (DURABLE-NOTES).</summary>
    public static TimeSpan WholeSecondsAtLeastOne(long milliseconds)
        => TimeSpan.FromSeconds(Math.Clamp((milliseconds + 999) / 1000, 1, MaxTokenWaitSeconds));
}

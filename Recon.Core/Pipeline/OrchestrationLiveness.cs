namespace Recon.Core.Pipeline;

/// <summary>What a watcher does about an orchestration that should be making progress.</summary>
public enum LivenessAction
{
    /// <summary>It is alive (or paused on purpose): leave it.</summary>
    Leave,

    /// <summary>It is running on paper but has not checkpointed for too long (its messages were lost or are held back
    /// for minutes): end it, so a new execution can take its place.</summary>
    Terminate,

    /// <summary>Nobody runs it (absent, ended, or a start that never began): start a new execution under the same id.</summary>
    Start,
}

/// <summary>
/// The one rule both hosts apply to the dispatcher and to batches that stay running: an instance that is absent or
/// ended while its work is unfinished is started again; one that is running or pending but has not checkpointed for
/// <c>stalledAfter</c> is stuck and is terminated (then started again on the next look).
/// </summary>
/// <remarks>
/// Why a stuck instance happens at all: after a worker dies, the Azure Storage backend hands its messages out again
/// only when their lease ends, and a message that arrives before the history it answers is abandoned with a back-off
/// that doubles with every delivery, up to 10 minutes per message. The dispatcher checkpoints every few seconds while
/// busy and at least every IdleWaitSeconds (60 s) while idle; so two minutes without a checkpoint is not load. A false
/// alarm costs a restart of the dispatcher, whose batches run on and are idempotent.
/// Status names are the Durable runtime status names, which DTFx's <c>OrchestrationStatus</c> and the isolated worker's
/// <c>OrchestrationRuntimeStatus</c> share.
/// </remarks>
public static class OrchestrationLiveness
{
    public static LivenessAction Decide(string? runtimeStatus, DateTime lastUpdatedUtc, DateTime nowUtc, TimeSpan stalledAfter)
    {
        var stale = nowUtc - lastUpdatedUtc > stalledAfter;
        return runtimeStatus switch
        {
            null => LivenessAction.Start,
            "Suspended" => LivenessAction.Leave,
            // pending: created, never begun; if that lasts, its start message is gone, and a new execution may replace it
            "Pending" => stale ? LivenessAction.Start : LivenessAction.Leave,
            "Running" or "ContinuedAsNew" => stale ? LivenessAction.Terminate : LivenessAction.Leave,
            _ => LivenessAction.Start,
        };
    }
}

namespace Recon.Core.Pipeline;

/// <summary>
/// When the one dispatcher must be started (again): it is the only thing that moves batches from the queues into
/// orchestrations, so a dispatcher that was never started, failed, or was terminated or completed stops the whole
/// pipeline. Both hosts ask this at start and then on a timer (Recon.Worker every 30 s, Recon.Functions every minute).
/// </summary>
public static class DispatcherWatch
{
    /// <summary>States in which the dispatcher is alive or was paused on purpose (suspended by an operator).</summary>
    private static readonly HashSet<string> Alive = new(StringComparer.Ordinal) { "Running", "Pending", "ContinuedAsNew", "Suspended" };

    /// <summary>True when <paramref name="runtimeStatus"/> (the name of the Durable runtime status, null when no instance
    /// exists) means nobody is dispatching.</summary>
    public static bool MustStart(string? runtimeStatus) => runtimeStatus is null || !Alive.Contains(runtimeStatus);
}

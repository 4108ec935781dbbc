using Recon.Core.Pipeline;

namespace Recon.Worker.Hosting;

/// <summary>What the worker's watch does about the dispatcher at one look.</summary>
public enum DispatcherStep
{
    /// <summary>Alive: nothing to do.</summary>
    Leave,

    /// <summary>Absent or ended: start it.</summary>
    Start,

    /// <summary>Stuck: ask it to terminate (it is started at a later look).</summary>
    Terminate,

    /// <summary>Stuck, and the terminate asked for a whole period ago was never processed: this process's Durable
    /// worker processes no orchestrations at all and must be rebuilt.</summary>
    Recycle,
}

/// <summary>
/// The worker's watch over the one dispatcher, as a small state machine: <see cref="OrchestrationLiveness"/> decides
/// start, leave or terminate, and the guard remembers when it asked for a terminate, so a terminate that goes
/// unprocessed for <c>stalledAfter</c> turns into <see cref="DispatcherStep.Recycle"/>.
/// </summary>
public sealed class DispatcherGuard(TimeSpan stalledAfter)
{
    private DateTime? _terminateAskedAt;

    /// <summary>The step for the dispatcher found in <paramref name="runtimeStatus"/> (null: absent), last checkpointed
    /// at <paramref name="lastUpdatedUtc"/>, looked at <paramref name="nowUtc"/>.</summary>
    public DispatcherStep Next(string? runtimeStatus, DateTime lastUpdatedUtc, DateTime nowUtc)
    {
        var action = OrchestrationLiveness.Decide(runtimeStatus, lastUpdatedUtc, nowUtc, stalledAfter);
        if (action != LivenessAction.Terminate)
        {
            _terminateAskedAt = null;
            return action == LivenessAction.Start ? DispatcherStep.Start : DispatcherStep.Leave;
        }
        if (_terminateAskedAt is { } asked && nowUtc - asked >= stalledAfter)
        {
            // after a rebuild the dispatcher gets a fresh period: its terminate is asked for again first
            _terminateAskedAt = null;
            return DispatcherStep.Recycle;
        }
        _terminateAskedAt ??= nowUtc;
        return DispatcherStep.Terminate;
    }
}

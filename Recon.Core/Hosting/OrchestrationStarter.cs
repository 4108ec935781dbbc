using Recon.Core.Pipeline;

namespace Recon.Core.Hosting;

/// <summary>
/// Every start rule of both hosts, over the <see cref="IOrchestrationControl"/> port: a run id that ever ran is never
/// started a second time; the one dispatcher is kept alive by <see cref="OrchestrationLiveness"/>; enqueues signal it.
/// </summary>
public class OrchestrationStarter(IOrchestrationControl control) : IBatchStarter
{
    /// <summary>The port this starter acts through.</summary>
    public IOrchestrationControl Control { get; } = control ?? throw new ArgumentNullException(nameof(control));

    /// <summary>
    /// Starts <paramref name="orchestrator"/> under <paramref name="instanceId"/> unless an instance with that id exists in
    /// any state; false for a duplicate, and false when a concurrent starter won the race between the look and the start.
    /// </summary>
    public async Task<bool> TryStartAsync(string orchestrator, string instanceId, object input, CancellationToken cancellationToken)
    {
        // read first: not every backend refuses every existing state on create; the create then refuses what the read missed
        if (await Control.GetAsync(instanceId, withOutput: false, cancellationToken).ConfigureAwait(false) is not null)
        {
            return false;
        }
        return await Control.ScheduleAsync(orchestrator, instanceId, input, replacing: null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Keeps the one dispatcher alive: started when absent or ended, ended when it has not checkpointed for
    /// <see cref="DispatcherSettings.StalledAfterSeconds"/> (started again at a later look). Returns what the rule called
    /// for and the status found.
    /// </summary>
    public async Task<(LivenessAction Action, string? Status)> EnsureDispatcherAsync(DispatcherSettings settings, DateTime nowUtc, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var (action, status, _) = await ApplyAsync(nameof(DispatcherOrchestrator), DispatcherOrchestrator.InstanceId, DispatcherInput(settings),
            TimeSpan.FromSeconds(Math.Max(1, settings.StalledAfterSeconds)), mayStart: true, nowUtc,
            "no checkpoint for too long; ended by the dispatcher watch, to be started again", cancellationToken).ConfigureAwait(false);
        return (action, status);
    }

    /// <summary>The dispatcher's first input: the base in-flight cap and the settings.</summary>
    public static DispatcherState DispatcherInput(DispatcherSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return new DispatcherState(settings.BaseInFlight, settings);
    }

    /// <summary>Starts a new execution under <paramref name="instanceId"/> in place of <paramref name="found"/> (null: none);
    /// false when the instance changed meanwhile.</summary>
    public Task<bool> StartReplacingAsync(string orchestrator, string instanceId, object input, OrchestrationView? found, CancellationToken cancellationToken = default)
        => Control.ScheduleAsync(orchestrator, instanceId, input, found, cancellationToken);

    /// <inheritdoc />
    public Task NotifyDispatcherAsync(CancellationToken cancellationToken)
        => Control.RaiseEventAsync(DispatcherOrchestrator.InstanceId, DispatcherOrchestrator.WorkEvent, "", cancellationToken);

    /// <summary>Ends an instance.</summary>
    public Task TerminateAsync(string instanceId, string reason, CancellationToken cancellationToken = default)
        => Control.TerminateAsync(instanceId, reason, cancellationToken);

    /// <summary>Looks at <paramref name="instanceId"/>, applies <see cref="OrchestrationLiveness"/> and carries out its
    /// terminate, or its start when <paramref name="mayStart"/>.</summary>
    private async Task<(LivenessAction Action, string? Status, bool Done)> ApplyAsync(string orchestrator, string instanceId, object input,
        TimeSpan stalledAfter, bool mayStart, DateTime nowUtc, string terminateReason, CancellationToken cancellationToken)
    {
        var found = await Control.GetAsync(instanceId, withOutput: false, cancellationToken).ConfigureAwait(false);
        var action = OrchestrationLiveness.Decide(found?.Status, found?.LastUpdatedUtc ?? DateTime.MinValue, nowUtc, stalledAfter);
        var done = false;
        if (action == LivenessAction.Terminate)
        {
            await Control.TerminateAsync(instanceId, terminateReason, cancellationToken).ConfigureAwait(false);
            done = true;
        }
        else if (action == LivenessAction.Start && mayStart)
        {
            done = await Control.ScheduleAsync(orchestrator, instanceId, input, found, cancellationToken).ConfigureAwait(false);
        }
        return (action, found?.Status, done);
    }
}

namespace Recon.Core.Hosting;

/// <summary>An orchestration instance as a host's Durable client reports it.</summary>
/// <param name="InstanceId">The instance id (a run id, a batch id, or the dispatcher's fixed id).</param>
/// <param name="Status">The Durable runtime status name (<c>Pending</c>, <c>Running</c>, <c>Completed</c>, …): DTFx's
/// <c>OrchestrationStatus</c> and the isolated worker's <c>OrchestrationRuntimeStatus</c> share these names.</param>
/// <param name="LastUpdatedUtc">When the instance last checkpointed.</param>
/// <param name="SerializedOutput">The output as JSON, when asked for and present.</param>
public sealed record OrchestrationView(string InstanceId, string Status, DateTime LastUpdatedUtc, string? SerializedOutput = null);

/// <summary>
/// The one port through which Core starts, looks at and ends orchestrations. Each host supplies an adapter over its
/// own Durable client (<see cref="DurableClientControl"/> for the Functions app's <c>DurableTaskClient</c>,
/// <c>HubControl</c> for Recon.Worker's DTFx <c>TaskHubClient</c>); every rule about when to start, revive or end lives
/// in <see cref="OrchestrationStarter"/> and <see cref="ReconIntake"/>, so the two hosts cannot drift.
/// </summary>
public interface IOrchestrationControl
{
    /// <summary>The instance, or null when there is none.</summary>
    Task<OrchestrationView?> GetAsync(string instanceId, bool withOutput, CancellationToken cancellationToken);

    /// <summary>
    /// Starts <paramref name="orchestrator"/> under <paramref name="instanceId"/>. With <paramref name="replacing"/> null the
    /// id must be new; otherwise the instance found in that state is replaced by a new execution (a pending instance whose
    /// start message was lost is ended and purged first, where the backend needs that). Returns false when the backend
    /// refused because the instance exists (in another state than <paramref name="replacing"/>): someone else acted first.
    /// </summary>
    Task<bool> ScheduleAsync(string orchestrator, string instanceId, object input, OrchestrationView? replacing, CancellationToken cancellationToken);

    /// <summary>Asks the instance to end (a terminate message, applied at its next episode).</summary>
    Task TerminateAsync(string instanceId, string reason, CancellationToken cancellationToken);

    /// <summary>Sends the instance an external event.</summary>
    Task RaiseEventAsync(string instanceId, string eventName, string payload, CancellationToken cancellationToken);
}

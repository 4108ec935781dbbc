using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;

namespace Recon.Core.Pipeline;

/// <summary>
/// The Functions host's side of starting and reviving orchestrations, through the Durable client it is given
/// (<c>[DurableClient] DurableTaskClient</c>): the same rules as Recon.Worker's <c>HubStarter</c> on DTFx. It lives in Core
/// so it is tested here, where the Functions host cannot run.
/// </summary>
public sealed class DurableClientStarter(DurableTaskClient client) : IBatchStarter
{
    /// <summary>Starts a ReconcileBatch under the batch id; false when an instance with that id exists (a duplicate).</summary>
    public async Task<bool> TryStartAsync(BatchWork batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (await client.GetInstanceAsync(batch.BatchId, cancellationToken).ConfigureAwait(false) is not null)
        {
            return false;
        }
        await client.ScheduleNewOrchestrationInstanceAsync(nameof(ReconcileBatchOrchestrator), batch, new StartOrchestrationOptions(batch.BatchId), cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <inheritdoc />
    public async Task<Revival> ReviveAsync(BatchWork batch, TimeSpan stalledAfter, bool mayStart, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var (action, status) = await ApplyAsync(client, nameof(ReconcileBatchOrchestrator), batch.BatchId, batch, stalledAfter, mayStart, DateTime.UtcNow,
            "no checkpoint for too long; ended by the dispatcher's watch, to be started again", cancellationToken).ConfigureAwait(false);
        return new Revival(action, status, Done: action == LivenessAction.Terminate || (action == LivenessAction.Start && mayStart));
    }

    /// <summary>
    /// Keeps the one dispatcher alive: started when absent or ended, ended when it has not checkpointed for
    /// <see cref="DispatcherSettings.StalledAfterSeconds"/> (started again at a later look). Returns what the rule called for
    /// and the status found.
    /// </summary>
    public static Task<(LivenessAction Action, string? Status)> EnsureDispatcherAsync(DurableTaskClient client, DispatcherSettings settings, DateTime nowUtc, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return ApplyAsync(client, nameof(DispatcherOrchestrator), DispatcherOrchestrator.InstanceId, new DispatcherState(settings.BaseInFlight, settings),
            TimeSpan.FromSeconds(Math.Max(1, settings.StalledAfterSeconds)), mayStart: true, nowUtc,
            "no checkpoint for too long; ended by EnsureDispatcher, to be started again", cancellationToken);
    }

    /// <summary>Looks at <paramref name="instanceId"/>, applies <see cref="OrchestrationLiveness"/> and carries out its
    /// terminate, or its start when <paramref name="mayStart"/>.</summary>
    private static async Task<(LivenessAction Action, string? Status)> ApplyAsync(DurableTaskClient client, string orchestrator, string instanceId, object input,
        TimeSpan stalledAfter, bool mayStart, DateTime nowUtc, string terminateReason, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        var instance = await client.GetInstanceAsync(instanceId, cancellationToken).ConfigureAwait(false);
        var status = instance?.RuntimeStatus.ToString();
        var action = OrchestrationLiveness.Decide(status, instance?.LastUpdatedAt.UtcDateTime ?? DateTime.MinValue, nowUtc, stalledAfter);
        if (action == LivenessAction.Terminate)
        {
            await client.TerminateInstanceAsync(instanceId, terminateReason, cancellationToken).ConfigureAwait(false);
        }
        else if (action == LivenessAction.Start && mayStart)
        {
            await StartReplacingAsync(client, orchestrator, instanceId, input, instance, cancellationToken).ConfigureAwait(false);
        }
        return (action, status);
    }

    /// <summary>Starts a new execution under <paramref name="instanceId"/> in place of <paramref name="found"/> (ended, or
    /// pending with its start message lost: a pending instance is ended and purged first, because the Durable client
    /// replaces only instances that are not running).</summary>
    public static async Task StartReplacingAsync(DurableTaskClient client, string orchestrator, string instanceId, object input, OrchestrationMetadata? found, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        if (found is { RuntimeStatus: OrchestrationRuntimeStatus.Pending })
        {
            await client.TerminateInstanceAsync(instanceId, "start message lost; started again", cancellationToken).ConfigureAwait(false);
            await client.PurgeInstanceAsync(instanceId, cancellation: cancellationToken).ConfigureAwait(false);
        }
        await client.ScheduleNewOrchestrationInstanceAsync(orchestrator, input, new StartOrchestrationOptions(instanceId), cancellationToken).ConfigureAwait(false);
    }
}

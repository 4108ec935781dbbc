using DurableTask.Core;
using DurableTask.Core.Exceptions;
using Recon.Core.Pipeline;
using Recon.Worker.Hosting;

namespace Recon.Worker.Pipeline;

/// <summary>Starts orchestrations on this worker's hub, refusing an instance id that exists in any state.</summary>
public sealed class HubStarter(DurableHost host) : IBatchStarter
{
    /// <summary>Every state: a batch id or run id that ever ran is never started a second time.</summary>
    private static readonly OrchestrationStatus[] AnyState =
    [
        OrchestrationStatus.Pending, OrchestrationStatus.Running, OrchestrationStatus.ContinuedAsNew, OrchestrationStatus.Completed,
        OrchestrationStatus.Failed, OrchestrationStatus.Canceled, OrchestrationStatus.Terminated, OrchestrationStatus.Suspended,
    ];

    public Task<bool> TryStartAsync(BatchWork batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return TryStartAsync(nameof(ReconcileBatchOrchestrator), batch.BatchId, batch);
    }

    public async Task<Revival> ReviveAsync(BatchWork batch, TimeSpan stalledAfter, bool mayStart, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var state = await host.Client.GetOrchestrationStateAsync(batch.BatchId).ConfigureAwait(false);
        var status = state?.OrchestrationStatus;
        var action = OrchestrationLiveness.Decide(status?.ToString(), state?.LastUpdatedTime ?? DateTime.MinValue, DateTime.UtcNow, stalledAfter);
        var done = action switch
        {
            LivenessAction.Terminate => await TerminateAsync(batch.BatchId, $"no checkpoint since {state!.LastUpdatedTime:O}; ended by the dispatcher's watch, to be started again").ConfigureAwait(false),
            LivenessAction.Start when mayStart => await StartReplacingAsync(nameof(ReconcileBatchOrchestrator), batch.BatchId, batch, status).ConfigureAwait(false),
            _ => false,
        };
        return new Revival(action, status?.ToString(), done);
    }

    /// <summary>Ends an instance (a terminate message, applied at its next episode).</summary>
    public async Task<bool> TerminateAsync(string instanceId, string reason)
    {
        await host.Client.TerminateInstanceAsync(new OrchestrationInstance { InstanceId = instanceId }, reason).ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// Starts a new execution under <paramref name="instanceId"/>, replacing an instance found in <paramref name="found"/>
    /// (null: none); refused (false) if the instance is meanwhile in any other state — someone else acted first.
    /// </summary>
    public async Task<bool> StartReplacingAsync(string orchestrator, string instanceId, object input, OrchestrationStatus? found)
    {
        var refuse = found is { } f ? AnyState.Where(s => s != f).ToArray() : AnyState;
        try
        {
            await host.Client.CreateOrchestrationInstanceAsync(orchestrator, "", instanceId, input, null, refuse).ConfigureAwait(false);
            return true;
        }
        catch (OrchestrationAlreadyExistsException)
        {
            return false;
        }
    }

    /// <summary>False when <paramref name="instanceId"/> already exists.</summary>
    public async Task<bool> TryStartAsync(string orchestrator, string instanceId, object input)
    {
        // read first: the Azure Storage backend does not refuse every existing state on create; the dedupe statuses
        // below then close most of the race between two starters, and the batch status check closes the rest
        if (await host.Client.GetOrchestrationStateAsync(instanceId).ConfigureAwait(false) is not null)
        {
            return false;
        }
        try
        {
            await host.Client.CreateOrchestrationInstanceAsync(orchestrator, "", instanceId, input, null, AnyState).ConfigureAwait(false);
            return true;
        }
        catch (OrchestrationAlreadyExistsException)
        {
            return false;
        }
    }
}

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

    /// <summary>Every state but pending: a new execution may replace an instance that never ran.</summary>
    private static readonly OrchestrationStatus[] AnyStateButPending = AnyState.Where(s => s != OrchestrationStatus.Pending).ToArray();

    public async Task<bool> RestartIfNeverBegunAsync(BatchWork batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var state = await host.Client.GetOrchestrationStateAsync(batch.BatchId).ConfigureAwait(false);
        if (state is not null && state.OrchestrationStatus != OrchestrationStatus.Pending)
        {
            return false;
        }
        try
        {
            await host.Client.CreateOrchestrationInstanceAsync(nameof(ReconcileBatchOrchestrator), "", batch.BatchId, batch, null, AnyStateButPending).ConfigureAwait(false);
            return true;
        }
        catch (OrchestrationAlreadyExistsException)
        {
            // it began meanwhile
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

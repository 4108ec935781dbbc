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

    /// <summary>False when <paramref name="instanceId"/> already exists.</summary>
    public async Task<bool> TryStartAsync(string orchestrator, string instanceId, object input)
    {
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

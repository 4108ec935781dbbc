using DurableTask.Core;
using DurableTask.Core.Exceptions;
using Recon.Core.Hosting;
using Recon.Worker.Hosting;

namespace Recon.Worker.Pipeline;

/// <summary>Recon.Worker's starter: Core's <see cref="OrchestrationStarter"/> rules over this worker's DTFx hub.</summary>
public sealed class HubStarter(DurableHost host) : OrchestrationStarter(new HubControl(host));

/// <summary><see cref="IOrchestrationControl"/> over DTFx's <see cref="TaskHubClient"/> (Azure Storage backend).</summary>
public sealed class HubControl(DurableHost host) : IOrchestrationControl
{
    /// <summary>Every state: an id that exists in any of them is not created again unless it is the one replaced.</summary>
    private static readonly OrchestrationStatus[] AnyState =
    [
        OrchestrationStatus.Pending, OrchestrationStatus.Running, OrchestrationStatus.ContinuedAsNew, OrchestrationStatus.Completed,
        OrchestrationStatus.Failed, OrchestrationStatus.Canceled, OrchestrationStatus.Terminated, OrchestrationStatus.Suspended,
    ];

    public async Task<OrchestrationView?> GetAsync(string instanceId, bool withOutput, CancellationToken cancellationToken)
    {
        var state = await host.Client.GetOrchestrationStateAsync(instanceId).ConfigureAwait(false);
        return state is null
            ? null
            : new OrchestrationView(instanceId, state.OrchestrationStatus.ToString(), DateTime.SpecifyKind(state.LastUpdatedTime, DateTimeKind.Utc), withOutput ? state.Output : null);
    }

    public async Task<bool> ScheduleAsync(string orchestrator, string instanceId, object input, OrchestrationView? replacing, CancellationToken cancellationToken)
    {
        // the Azure Storage backend replaces an instance whose status is not in the dedupe list: refuse all but the one
        // found (a pending instance whose start message was lost is overwritten in place, no purge needed here)
        var refuse = replacing is null ? AnyState : AnyState.Where(s => s.ToString() != replacing.Status).ToArray();
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

    public Task TerminateAsync(string instanceId, string reason, CancellationToken cancellationToken)
        => host.Client.TerminateInstanceAsync(new OrchestrationInstance { InstanceId = instanceId }, reason);

    public Task RaiseEventAsync(string instanceId, string eventName, string payload, CancellationToken cancellationToken)
        => host.Client.RaiseEventAsync(new OrchestrationInstance { InstanceId = instanceId }, eventName, payload);
}

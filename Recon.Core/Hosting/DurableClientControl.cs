using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;

namespace Recon.Core.Hosting;

/// <summary>
/// <see cref="IOrchestrationControl"/> over the isolated worker's <see cref="DurableTaskClient"/> (the Functions app's
/// <c>[DurableClient]</c>). It lives in Core so the Functions host's side is tested here, where the host cannot run.
/// </summary>
public sealed class DurableClientControl(DurableTaskClient client) : IOrchestrationControl
{
    private readonly DurableTaskClient _client = client ?? throw new ArgumentNullException(nameof(client));

    public async Task<OrchestrationView?> GetAsync(string instanceId, bool withOutput, CancellationToken cancellationToken)
    {
        var instance = await _client.GetInstanceAsync(instanceId, withOutput, cancellationToken).ConfigureAwait(false);
        return instance is null
            ? null
            : new OrchestrationView(instanceId, instance.RuntimeStatus.ToString(), instance.LastUpdatedAt.UtcDateTime, withOutput ? instance.SerializedOutput : null);
    }

    public async Task<bool> ScheduleAsync(string orchestrator, string instanceId, object input, OrchestrationView? replacing, CancellationToken cancellationToken)
    {
        if (replacing is { Status: nameof(OrchestrationRuntimeStatus.Pending) })
        {
            // the Durable backend replaces only instances that are not running, and a pending one counts as running:
            // a pending instance whose start message was lost is ended and purged first
            await _client.TerminateInstanceAsync(instanceId, "start message lost; started again", cancellationToken).ConfigureAwait(false);
            await _client.PurgeInstanceAsync(instanceId, cancellation: cancellationToken).ConfigureAwait(false);
        }
        try
        {
            await _client.ScheduleNewOrchestrationInstanceAsync(orchestrator, input, new StartOrchestrationOptions(instanceId), cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // refused: when the instance now exists in another state than the one we replace, a concurrent starter won the
            // race (the backend's "already exists" error differs by transport); anything else is a real failure
            var now = await _client.GetInstanceAsync(instanceId, cancellationToken).ConfigureAwait(false);
            if (now is not null && now.RuntimeStatus.ToString() != replacing?.Status)
            {
                return false;
            }
            throw;
        }
    }

    public Task TerminateAsync(string instanceId, string reason, CancellationToken cancellationToken)
        => _client.TerminateInstanceAsync(instanceId, reason, cancellationToken);

    public Task RaiseEventAsync(string instanceId, string eventName, string payload, CancellationToken cancellationToken)
        => _client.RaiseEventAsync(instanceId, eventName, payload, cancellationToken);
}

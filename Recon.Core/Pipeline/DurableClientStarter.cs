using Microsoft.DurableTask.Client;
using Recon.Core.Hosting;

namespace Recon.Core.Pipeline;

/// <summary>
/// The Functions host's starter: <see cref="OrchestrationStarter"/> (the rules both hosts share) over the Durable client it
/// is given (<c>[DurableClient] DurableTaskClient</c>) through <see cref="DurableClientControl"/>.
/// </summary>
public sealed class DurableClientStarter(DurableTaskClient client) : OrchestrationStarter(new DurableClientControl(client))
{
    /// <summary>Keeps the one dispatcher alive (<see cref="OrchestrationStarter.EnsureDispatcherAsync"/>) through <paramref name="client"/>.</summary>
    public static Task<(LivenessAction Action, string? Status)> EnsureDispatcherAsync(DurableTaskClient client, DispatcherSettings settings, DateTime nowUtc, CancellationToken cancellationToken = default)
        => new DurableClientStarter(client).EnsureDispatcherAsync(settings, nowUtc, cancellationToken);
}

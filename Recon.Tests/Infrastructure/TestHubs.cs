using DurableTask.Core;

namespace Recon.Tests.Infrastructure;

/// <summary>Each test gets its own task hub (its own storage queues and tables on Azurite).</summary>
public static class TestHubs
{
    /// <summary>Letters and digits only, at most 45: the rules for a hub name.</summary>
    public static string NewName(string prefix = "t") => $"{prefix}{Guid.NewGuid():N}"[..Math.Min(30, prefix.Length + 24)];

    /// <summary>Polls every 200 ms (the client's own wait polls every 2 s) until the instance ends or the limit passes.</summary>
    public static async Task<OrchestrationState> WaitForCompletionAsync(TaskHubClient client, string instanceId, TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        while (true)
        {
            var state = await client.GetOrchestrationStateAsync(instanceId);
            if (state is { OrchestrationStatus: not (OrchestrationStatus.Running or OrchestrationStatus.Pending or OrchestrationStatus.ContinuedAsNew) })
            {
                return state;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{instanceId} did not finish within {limit.TotalSeconds:0} s (status {state?.OrchestrationStatus.ToString() ?? "not found"}).");
            }
            await Task.Delay(200);
        }
    }
}

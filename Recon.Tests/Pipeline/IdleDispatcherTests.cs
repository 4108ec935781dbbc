using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Recon.Core.Pipeline;
using Recon.Worker;
using Recon.Worker.Hosting;

namespace Recon.Tests.Pipeline;

/// <summary>
/// With nothing to do the dispatcher stops polling and waits for work; an ingest's enqueue wakes it through the work
/// signal (on real DTFx + Azurite, through Recon.Worker), not by its idle timer. Asserted on the dispatcher's own counters,
/// not on time: with the signal broken it would wake by the timer (60 s) and <c>WokenByWork</c> would stay 0.
/// </summary>
public sealed class IdleDispatcherTests
{
    [Fact]
    public async Task IdleDispatcher_WaitsWithoutPolling_AndAnEnqueueWakesItBySignal()
    {
        await using var stack = await PipelineStack.CreateAsync(seed: 73, size: 10);
        var app = WorkerApp.Build([], settings: stack.Settings());
        await app.StartAsync();
        try
        {
            var host = app.Services.GetRequiredService<DurableHost>();
            // nothing queued: the first round finds nothing and the dispatcher waits (its execution stops continuing as new)
            var idle = await WaitForIdleAsync(host);
            Assert.Equal(0, idle.WokenByWork);

            var request = stack.Requests(pageSize: 50, runPrefix: "idle", "stripe").First();
            var runId = await stack.SubmitAsync(request);
            await stack.WaitForRunsAsync([runId], TimeSpan.FromMinutes(3));

            var after = await StateAsync(host);
            Assert.True(after.WokenByWork >= 1, $"the dispatcher was not woken by the enqueue's signal: {after}");
            Assert.Equal(0, await stack.ScalarAsync("select count(*) from batches where status not in ('done', 'failed')"));
        }
        finally
        {
            await app.StopAsync();
            await app.Services.GetRequiredService<DurableHost>().DeleteHubAsync();
            await app.DisposeAsync();
        }
    }

    /// <summary>The dispatcher's state once it has sat in one execution for 3 s (a polling one continues as new each second).</summary>
    private static async Task<DispatcherState> WaitForIdleAsync(DurableHost host)
    {
        var deadline = DateTime.UtcNow.AddMinutes(2);
        string? lastExecution = null;
        var since = DateTime.UtcNow;
        while (true)
        {
            var state = await host.Client.GetOrchestrationStateAsync(DispatcherOrchestrator.InstanceId);
            var execution = state?.OrchestrationInstance.ExecutionId;
            if (execution != lastExecution)
            {
                (lastExecution, since) = (execution, DateTime.UtcNow);
            }
            else if (state is { OrchestrationStatus: DurableTask.Core.OrchestrationStatus.Running } && DateTime.UtcNow - since > TimeSpan.FromSeconds(3))
            {
                return Parse(state.Input);
            }
            Assert.True(DateTime.UtcNow < deadline, "the dispatcher never settled into an idle wait");
            await Task.Delay(250);
        }
    }

    private static async Task<DispatcherState> StateAsync(DurableHost host)
        => Parse((await host.Client.GetOrchestrationStateAsync(DispatcherOrchestrator.InstanceId))!.Input);

    private static DispatcherState Parse(string json) => JsonSerializer.Deserialize<DispatcherState>(json, new JsonSerializerOptions(JsonSerializerDefaults.Web))!;
}

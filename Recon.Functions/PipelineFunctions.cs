using Azure.Storage.Queues.Models;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Recon.Core.Hosting;
using Recon.Core.Pipeline;
using Recon.Core.Queues;

namespace Recon.Functions;

/// <summary>Thin triggers: each one makes one call into Recon.Core (the intake, the starter, an orchestrator or an activity),
/// the same calls Recon.Worker makes.</summary>
public sealed class PipelineFunctions(ReconIntake intake, PoisonQueueProbe poison, DispatcherSettings dispatcher, ILogger<PipelineFunctions> logger)
{
    [Function("StartReconciliation")]
    public async Task<IActionResult> StartAsync(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "reconciliations")] HttpRequest request,
        [DurableClient] DurableTaskClient client)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new HostReplyResult(await intake.StartAsync(new DurableClientControl(client), request.Body,
            $"{request.Scheme}://{request.Host}{request.PathBase}/api/reconciliations", request.HttpContext.RequestAborted).ConfigureAwait(false));
    }

    [Function("GetReconciliation")]
    public async Task<IActionResult> StatusAsync(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "reconciliations/{runId}")] HttpRequest request,
        string runId,
        [DurableClient] DurableTaskClient client)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new HostReplyResult(await intake.StatusAsync(new DurableClientControl(client), runId, request.HttpContext.RequestAborted).ConfigureAwait(false));
    }

    /// <summary>Core's intake starts the run, or poisons the message with its reason at once when it cannot be read or is
    /// invalid (as Recon.Worker does); a start that failed throws, so the message comes back (host.json maxDequeueCount).</summary>
    [Function("IngestFromQueue")]
    public Task IngestFromQueueAsync([QueueTrigger(QueueNames.Ingest)] QueueMessage message, [DurableClient] DurableTaskClient client, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        return intake.FromQueueAsync(new DurableClientControl(client), new IngestMessage(message.MessageId, message.Body.ToString(), message.DequeueCount), cancellationToken);
    }

    /// <summary>Every minute (and when the app starts): the one dispatcher is alive, or it is started again, and the poison
    /// queues' depths are published for the alert. Without the dispatcher nothing moves from recon-high and recon-low.</summary>
    [Function("EnsureDispatcher")]
    public async Task EnsureDispatcherAsync(
        [TimerTrigger("0 */1 * * * *", RunOnStartup = true)] TimerInfo timer,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken)
    {
        var (action, status) = await new DurableClientStarter(client).EnsureDispatcherAsync(dispatcher, DateTime.UtcNow, cancellationToken).ConfigureAwait(false);
        if (action == LivenessAction.Terminate)
        {
            logger.LogWarning("Dispatcher made no progress for {Seconds} s; ended, to be started again", dispatcher.StalledAfterSeconds);
        }
        else if (action == LivenessAction.Start)
        {
            logger.LogWarning("Dispatcher was {Status}; started", status ?? "absent");
        }
        await poison.SampleAsync(cancellationToken).ConfigureAwait(false);
    }

    [Function(nameof(DispatcherOrchestrator))]
    public static Task<long> Dispatcher([OrchestrationTrigger] TaskOrchestrationContext context)
        => new DispatcherOrchestrator().RunAsync(context, context.GetInput<DispatcherState>()!);

    [Function(nameof(DispatchBatchesActivity))]
    public static Task<DispatchResult> DispatchBatches([ActivityTrigger] DispatchRequest input, FunctionContext context)
        => Run<DispatchBatchesActivity, DispatchRequest, DispatchResult>(context, input);

    [Function(nameof(RunBatchActivity))]
    public static Task<BatchOutcome> RunBatch([ActivityTrigger] RunBatch input, [DurableClient] DurableTaskClient client, FunctionContext context)
        => Run<RunBatchActivity, RunBatch, BatchOutcome>(context, input, new DurableClientStarter(client));

    /// <summary>Builds the Core activity in the invocation's scope (constructor injection as on Recon.Worker) and runs it.</summary>
    private static Task<TOutput> Run<TActivity, TInput, TOutput>(FunctionContext context, TInput input, params object[] extra)
        where TActivity : TaskActivity<TInput, TOutput>
    {
        ArgumentNullException.ThrowIfNull(context);
        var activity = ActivatorUtilities.CreateInstance<TActivity>(context.InstanceServices, extra);
        return activity.RunAsync(new InvocationActivityContext(typeof(TActivity).Name, context.InvocationId), input);
    }

    private sealed class InvocationActivityContext(string name, string instanceId) : TaskActivityContext
    {
        public override TaskName Name => name;

        public override string InstanceId => instanceId;
    }
}

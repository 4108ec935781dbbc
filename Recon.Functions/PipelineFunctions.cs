using System.Net;
using System.Text.Json;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Http;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Recon.Core.Pipeline;
using Recon.Core.Queues;

namespace Recon.Functions;

/// <summary>Thin triggers: each one validates what it must and makes one call into Recon.Core.</summary>
public sealed class PipelineFunctions(ILogger<PipelineFunctions> logger)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    [Function("StartReconciliation")]
    public async Task<HttpResponseData> StartAsync(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "reconciliations")] HttpRequestData request,
        [DurableClient] DurableTaskClient client)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(client);
        ReconciliationRequest? body;
        try
        {
            body = await JsonSerializer.DeserializeAsync<ReconciliationRequest>(request.Body, Json).ConfigureAwait(false);
        }
        catch (JsonException ex)
        {
            return await BadRequestAsync(request, [$"body: not a reconciliation request ({ex.Message})"]).ConfigureAwait(false);
        }
        var errors = ReconciliationRequests.Validate(body);
        if (errors.Count > 0)
        {
            return await BadRequestAsync(request, errors).ConfigureAwait(false);
        }
        var runId = ReconciliationRequests.RunIdOf(body!);
        if (await client.GetInstanceAsync(runId).ConfigureAwait(false) is null)
        {
            await client.ScheduleNewOrchestrationInstanceAsync(nameof(IngestOrchestrator), body! with { RunId = runId }, new StartOrchestrationOptions(runId)).ConfigureAwait(false);
        }
        return await client.CreateCheckStatusResponseAsync(request, runId).ConfigureAwait(false);
    }

    [Function("GetReconciliation")]
    public async Task<HttpResponseData> StatusAsync(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "reconciliations/{runId}")] HttpRequestData request,
        string runId,
        [DurableClient] DurableTaskClient client)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(client);
        var instance = await client.GetInstanceAsync(runId, getInputsAndOutputs: true).ConfigureAwait(false);
        var response = request.CreateResponse(instance is null ? HttpStatusCode.NotFound : HttpStatusCode.OK);
        await response.WriteAsJsonAsync(instance is null
            ? new { error = $"no run '{runId}'" }
            : (object)new { id = runId, runtimeStatus = instance.RuntimeStatus.ToString(), output = instance.SerializedOutput }).ConfigureAwait(false);
        return response;
    }

    /// <summary>A message that cannot be read throws: after maxDequeueCount (host.json) the host moves it to
    /// recon-ingest-poison, and the reason is in the log of every attempt.</summary>
    [Function("IngestFromQueue")]
    public async Task IngestFromQueueAsync([QueueTrigger(QueueNames.Ingest)] string message, [DurableClient] DurableTaskClient client)
    {
        ArgumentNullException.ThrowIfNull(client);
        ReconciliationRequest? body;
        try
        {
            body = JsonSerializer.Deserialize<ReconciliationRequest>(message, Json);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"recon-ingest message is not a reconciliation request: {ex.Message}", ex);
        }
        var errors = ReconciliationRequests.Validate(body);
        if (errors.Count > 0)
        {
            throw new InvalidDataException($"recon-ingest message is invalid: {string.Join("; ", errors)}");
        }
        var runId = ReconciliationRequests.RunIdOf(body!);
        if (await client.GetInstanceAsync(runId).ConfigureAwait(false) is null)
        {
            await client.ScheduleNewOrchestrationInstanceAsync(nameof(IngestOrchestrator), body! with { RunId = runId }, new StartOrchestrationOptions(runId)).ConfigureAwait(false);
        }
        logger.LogInformation("recon-ingest: run {RunId}", runId);
    }

    /// <summary>Every minute (and when the app starts): the one dispatcher is alive, or it is started again. Without it
    /// nothing moves from recon-high and recon-low into orchestrations.</summary>
    [Function("EnsureDispatcher")]
    public async Task EnsureDispatcherAsync(
        [TimerTrigger("0 */1 * * * *", RunOnStartup = true)] TimerInfo timer,
        [DurableClient] DurableTaskClient client,
        FunctionContext context)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(context);
        var settings = context.InstanceServices.GetRequiredService<DispatcherSettings>();
        var (action, status) = await DurableClientStarter.EnsureDispatcherAsync(client, settings, DateTime.UtcNow).ConfigureAwait(false);
        if (action == LivenessAction.Terminate)
        {
            logger.LogWarning("Dispatcher made no progress for {Seconds} s; ended, to be started again", settings.StalledAfterSeconds);
        }
        else if (action == LivenessAction.Start)
        {
            logger.LogWarning("Dispatcher was {Status}; started", status ?? "absent");
        }
    }

    [Function(nameof(IngestOrchestrator))]
    public static Task<IngestResult> Ingest([OrchestrationTrigger] TaskOrchestrationContext context)
        => new IngestOrchestrator().RunAsync(context, context.GetInput<ReconciliationRequest>()!);

    [Function(nameof(DispatcherOrchestrator))]
    public static Task<long> Dispatcher([OrchestrationTrigger] TaskOrchestrationContext context)
        => new DispatcherOrchestrator().RunAsync(context, context.GetInput<DispatcherState>()!);

    [Function(nameof(ReconcileBatchOrchestrator))]
    public static Task<BatchOutcome> ReconcileBatch([OrchestrationTrigger] TaskOrchestrationContext context)
        => new ReconcileBatchOrchestrator().RunAsync(context, context.GetInput<BatchWork>()!);

    [Function(nameof(PlanIngestActivity))]
    public static Task<IngestPlan> PlanIngest([ActivityTrigger] ReconciliationRequest input, FunctionContext context)
        => Run<PlanIngestActivity, ReconciliationRequest, IngestPlan>(context, input);

    [Function(nameof(EnqueueBatchesActivity))]
    public static Task<int> EnqueueBatches([ActivityTrigger] BatchWork[] input, FunctionContext context)
        => Run<EnqueueBatchesActivity, IReadOnlyList<BatchWork>, int>(context, input);

    [Function(nameof(DispatchBatchesActivity))]
    public static Task<DispatchResult> DispatchBatches([ActivityTrigger] DispatchRequest input, [DurableClient] DurableTaskClient client, FunctionContext context)
        => Run<DispatchBatchesActivity, DispatchRequest, DispatchResult>(context, input, new DurableClientStarter(client));

    [Function(nameof(BeginBatchActivity))]
    public static Task<BeginBatchResult> BeginBatch([ActivityTrigger] BeginBatch input, FunctionContext context)
        => Run<BeginBatchActivity, BeginBatch, BeginBatchResult>(context, input);

    [Function(nameof(AcquireTokensActivity))]
    public static Task<TokenGrant> AcquireTokens([ActivityTrigger] TokenRequest input, FunctionContext context)
        => Run<AcquireTokensActivity, TokenRequest, TokenGrant>(context, input);

    [Function(nameof(FetchProviderPageActivity))]
    public static Task<FetchedPage> FetchProviderPage([ActivityTrigger] FetchPage input, FunctionContext context)
        => Run<FetchProviderPageActivity, FetchPage, FetchedPage>(context, input);

    [Function(nameof(MatchAndPostActivity))]
    public static Task<PostSummary> MatchAndPost([ActivityTrigger] MatchAndPostInput input, FunctionContext context)
        => Run<MatchAndPostActivity, MatchAndPostInput, PostSummary>(context, input);

    [Function(nameof(RecordBatchStatusActivity))]
    public static Task<bool> RecordBatchStatus([ActivityTrigger] BatchStatusUpdate input, FunctionContext context)
        => Run<RecordBatchStatusActivity, BatchStatusUpdate, bool>(context, input);

    /// <summary>Builds the Core activity in the invocation's scope (constructor injection as on Recon.Worker) and runs it.</summary>
    private static Task<TOutput> Run<TActivity, TInput, TOutput>(FunctionContext context, TInput input, params object[] extra)
        where TActivity : TaskActivity<TInput, TOutput>
    {
        ArgumentNullException.ThrowIfNull(context);
        var activity = ActivatorUtilities.CreateInstance<TActivity>(context.InstanceServices, extra);
        return activity.RunAsync(new InvocationActivityContext(typeof(TActivity).Name, context.InvocationId), input);
    }

    private static async Task<HttpResponseData> BadRequestAsync(HttpRequestData request, IReadOnlyList<string> errors)
    {
        var response = request.CreateResponse();
        await response.WriteAsJsonAsync(new { errors }).ConfigureAwait(false);
        response.StatusCode = HttpStatusCode.BadRequest;
        return response;
    }

    private sealed class InvocationActivityContext(string name, string instanceId) : TaskActivityContext
    {
        public override TaskName Name => name;

        public override string InstanceId => instanceId;
    }
}

using Microsoft.DurableTask;

namespace Recon.Core.Pipeline;

/// <summary>
/// Validates a reconciliation request, splits it into first-page batches with deterministic ids and priorities,
/// records them as queued and puts each on recon-high or recon-low.
/// </summary>
/// <remarks>Its instance id is the run id, so the same request delivered twice runs once; both activities are
/// idempotent as well, for the redelivery after a crash.</remarks>
public sealed class IngestOrchestrator : TaskOrchestrator<ReconciliationRequest, IngestResult>
{
    public override async Task<IngestResult> RunAsync(TaskOrchestrationContext context, ReconciliationRequest input)
    {
        ArgumentNullException.ThrowIfNull(context);
        var errors = ReconciliationRequests.Validate(input);
        if (errors.Count > 0)
        {
            return new IngestResult(input is null ? "" : ReconciliationRequests.RunIdOf(input), 0, 0, errors);
        }
        var plan = await context.CallActivityAsync<IngestPlan>(nameof(PlanIngestActivity), input);
        if (plan.Errors.Count > 0)
        {
            return new IngestResult(plan.RunId, 0, 0, plan.Errors);
        }
        var enqueued = await context.CallActivityAsync<int>(nameof(EnqueueBatchesActivity), plan.Batches);
        return new IngestResult(plan.RunId, plan.Batches.Count, enqueued, []);
    }
}

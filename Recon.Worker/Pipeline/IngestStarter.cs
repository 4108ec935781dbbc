using Recon.Core.Pipeline;

namespace Recon.Worker.Pipeline;

/// <summary>Starts the ingest orchestration of a request (instance id = run id); shared by HTTP and the queue listener.</summary>
public sealed class IngestStarter(HubStarter starter)
{
    /// <summary>Validates and starts; returns the run id and whether this call started it (false: a duplicate).</summary>
    public async Task<(string RunId, bool Started, IReadOnlyList<string> Errors)> StartAsync(ReconciliationRequest? request)
    {
        var errors = ReconciliationRequests.Validate(request);
        if (errors.Count > 0)
        {
            return ("", false, errors);
        }
        var runId = ReconciliationRequests.RunIdOf(request!);
        var started = await starter.TryStartAsync(nameof(IngestOrchestrator), runId, request! with { RunId = runId }).ConfigureAwait(false);
        return (runId, started, []);
    }
}

using System.Net;
using System.Text.Json;
using Azure.Storage.Queues;
using Microsoft.Extensions.Logging;
using Recon.Core.Persistence;
using Recon.Core.Pipeline;
using Recon.Core.Queues;

namespace Recon.Core.Hosting;

/// <summary>An HTTP answer both hosts write as it is: status code, JSON body (<see cref="JsonOptions"/>), and the Location
/// header when set.</summary>
public sealed record HostReply(HttpStatusCode StatusCode, object Body, string? Location = null)
{
    /// <summary>How both hosts serialize <see cref="Body"/>: the web defaults (camelCase).</summary>
    public static JsonSerializerOptions JsonOptions { get; } = new(JsonSerializerDefaults.Web);
}

/// <summary>A <c>recon-ingest</c> message as a host received it.</summary>
/// <param name="MessageId">The storage message id.</param>
/// <param name="Body">The message text (plain JSON: every sender writes it unencoded; host.json says <c>messageEncoding: none</c>).</param>
/// <param name="DequeueCount">How often it has been handed out, this time included.</param>
public sealed record IngestMessage(string MessageId, string Body, long DequeueCount);

/// <summary>What became of an ingest message: its run started (or found started), or it went to the poison queue.</summary>
public sealed record IngestOutcome(string? RunId, bool Started, string? PoisonReason);

/// <summary>
/// The one intake of both hosts: <c>POST /api/reconciliations</c>, <c>GET /api/reconciliations/{runId}</c> and the
/// <c>recon-ingest</c> queue. It parses, validates, names the run, plans its first-page batches (value and priority
/// each), records them and puts them on recon-high / recon-low, then signals the dispatcher through the host's
/// <see cref="IOrchestrationControl"/>; it answers with the same status codes and bodies on either host.
/// </summary>
/// <remarks>
/// No orchestration per run (there was one, IngestOrchestrator, until issue 13): planning is a few statements, and an
/// orchestration with two activities per request doubled the Durable engine's work under a burst of small runs. Every
/// step is idempotent (run and batch ids are deterministic; a batch row is inserted once), so a delivery after a crash
/// finishes what the first began, and a repeated request whose run is complete changes nothing.
/// A message that cannot be read or is invalid goes to <c>recon-ingest-poison</c> at once with its reason — retrying cannot
/// fix it. One whose start keeps failing (storage or the Durable backend down) is thrown back to the host for another
/// delivery, and on its <see cref="PriorityQueueOptions.MaxDequeueCount"/>th delivery is poisoned with the last error, so
/// the reason is never lost to the host's own reason-less poison move.
/// </remarks>
public sealed class ReconIntake(BatchStore batches, QueueServiceClient queues, PriorityQueueOptions options, IBatchValuation valuation, IBatchQueue batchQueue,
    ILoggerFactory loggers)
{
    /// <summary>A request is a few hundred bytes; 16 KiB leaves room for long account ids and refuses anything else
    /// before it is parsed.</summary>
    public const int MaxBodyBytes = 16 * 1024;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly ILogger<ReconIntake> logger = loggers.CreateLogger<ReconIntake>();

    /// <summary>Starts the run a request asks for. 202 with the status URL (started: false when it already existed),
    /// 400 with every problem, 413 when the body is over <see cref="MaxBodyBytes"/>.</summary>
    /// <param name="control">The host's Durable client.</param>
    /// <param name="body">The request body.</param>
    /// <param name="statusBaseUri">Where this host serves <c>/api/reconciliations</c>, e.g. <c>https://host/api/reconciliations</c>.</param>
    /// <param name="cancellationToken">Cancels the read and the start.</param>
    public async Task<HostReply> StartAsync(IOrchestrationControl control, Stream body, string statusBaseUri, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(control);
        ArgumentNullException.ThrowIfNull(body);
        var text = await ReadBoundedAsync(body, cancellationToken).ConfigureAwait(false);
        if (text is null)
        {
            return new HostReply(HttpStatusCode.RequestEntityTooLarge, new { errors = new[] { $"body: larger than {MaxBodyBytes} bytes" } });
        }
        var (request, errors) = Parse(text);
        if (errors.Count > 0)
        {
            return new HostReply(HttpStatusCode.BadRequest, new { errors });
        }
        var (runId, started) = await StartRunAsync(control, request!, cancellationToken).ConfigureAwait(false);
        var location = $"{statusBaseUri.TrimEnd('/')}/{runId}";
        // the shape of the Durable Functions check-status response, without its management URLs (they carry the system key)
        return new HostReply(HttpStatusCode.Accepted, new { id = runId, started, statusQueryGetUri = location }, location);
    }

    /// <summary>A run's state: 200 with its intake status ("Completed" once its batches are queued, "Running" before),
    /// what was planned and queued, and batch counts; 404 when there is no such run.</summary>
    public async Task<HostReply> StatusAsync(IOrchestrationControl control, string runId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(control);
        // an id no run can have is not looked up (run ids are the validated caller's id or "run-" + hex)
        var run = ReconciliationRequests.IsValidRunId(runId)
            ? await batches.GetRunAsync(runId, cancellationToken).ConfigureAwait(false)
            : null;
        if (run is not { } found)
        {
            return new HostReply(HttpStatusCode.NotFound, new { error = $"no run '{Truncate(runId, 80)}'" });
        }
        var rows = await batches.ListAsync(runId, cancellationToken).ConfigureAwait(false);
        return new HostReply(HttpStatusCode.OK, new
        {
            id = runId,
            runtimeStatus = found.Planned is null ? "Running" : "Completed",
            output = found.Planned is { } planned ? new IngestResult(runId, planned, found.Enqueued ?? 0, []) : null,
            batches = rows.GroupBy(b => b.Status).OrderBy(g => g.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count()),
            late = rows.Count(b => b.Late),
            total = rows.Count,
        });
    }

    /// <summary>Handles one <c>recon-ingest</c> message; on return the host deletes it (a Functions trigger completes it).
    /// Throws when the start failed for a reason other than the message and deliveries remain: the host then leaves the
    /// message to come back.</summary>
    public async Task<IngestOutcome> FromQueueAsync(IOrchestrationControl control, IngestMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(control);
        ArgumentNullException.ThrowIfNull(message);
        string? reason;
        if (message.Body.Length > MaxBodyBytes)
        {
            reason = $"larger than {MaxBodyBytes} bytes";
        }
        else
        {
            var (request, errors) = Parse(message.Body);
            reason = errors.Count > 0 ? $"invalid reconciliation request: {string.Join("; ", errors)}" : null;
            if (reason is null)
            {
                try
                {
                    var (runId, started) = await StartRunAsync(control, request!, cancellationToken).ConfigureAwait(false);
                    logger.LogInformation("{Queue} message {Id}: run {RunId} {What}", options.Ingest, message.MessageId, runId, started ? "started" : "already exists");
                    return new IngestOutcome(runId, started, null);
                }
                catch (Exception ex) when (ex is not OperationCanceledException && message.DequeueCount >= options.MaxDequeueCount)
                {
                    reason = $"start failed on delivery {message.DequeueCount} of {options.MaxDequeueCount}: {ex.GetType().Name}: {ex.Message}";
                }
            }
        }
        logger.LogWarning("{Queue} message {Id} to poison: {Reason}", options.Ingest, message.MessageId, reason);
        var poison = queues.GetQueueClient(QueueNames.Poison(options.Ingest));
        var text = JsonSerializer.Serialize(new { reason, queue = options.Ingest, messageId = message.MessageId, message = message.Body }, Json);
        try
        {
            await poison.SendMessageAsync(text, cancellationToken).ConfigureAwait(false);
        }
        catch (Azure.RequestFailedException ex) when (ex.Status == 404)
        {
            // bicep creates it in Azure; a local or test queue name may not have one yet
            await poison.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            await poison.SendMessageAsync(text, cancellationToken).ConfigureAwait(false);
        }
        return new IngestOutcome(null, false, reason);
    }

    /// <summary>The request in <paramref name="text"/>, or every problem with it ("field: reason").</summary>
    public static (ReconciliationRequest? Request, IReadOnlyList<string> Errors) Parse(string text)
    {
        ReconciliationRequest? request;
        try
        {
            request = JsonSerializer.Deserialize<ReconciliationRequest>(text, Json);
        }
        catch (JsonException ex)
        {
            return (null, [$"body: not a reconciliation request ({ex.Message})"]);
        }
        var errors = ReconciliationRequests.Validate(request);
        return errors.Count > 0 ? (null, errors) : (request, errors);
    }

    /// <summary>Records the run, plans its first pages and queues them; Started is false when the run existed and was
    /// complete (a repeated request). A run left half done by a crash is finished.</summary>
    private async Task<(string RunId, bool Started)> StartRunAsync(IOrchestrationControl control, ReconciliationRequest request, CancellationToken cancellationToken)
    {
        var runId = ReconciliationRequests.RunIdOf(request);
        request = request with { RunId = runId };
        var created = await batches.RecordRunAsync(runId, request, cancellationToken).ConfigureAwait(false);
        if (!created && (await batches.GetRunAsync(runId, cancellationToken).ConfigureAwait(false))?.Planned is not null)
        {
            return (runId, false);
        }
        var planned = new List<BatchWork>();
        foreach (var page in BatchPlanner.Pages(request))
        {
            var (value, currency) = request.Event is { } e
                ? (e.AmountMinor, e.Currency)
                : await valuation.ValueOfAsync(page, cancellationToken).ConfigureAwait(false);
            planned.Add(new BatchWork(BatchIds.For(runId, page), runId, page, valuation.PriorityOf(value, currency), value, currency));
        }
        var enqueuer = new BatchEnqueuer(batches, batchQueue, new OrchestrationStarter(control), loggers.CreateLogger<BatchEnqueuer>());
        var enqueued = await enqueuer.EnqueueAsync(planned, cancellationToken).ConfigureAwait(false);
        await batches.RecordPlannedAsync(runId, planned.Count, enqueued, cancellationToken).ConfigureAwait(false);
        return (runId, created);
    }

    /// <summary>The body as text, or null when it is longer than <see cref="MaxBodyBytes"/> (read no further than that).</summary>
    private static async Task<string?> ReadBoundedAsync(Stream body, CancellationToken cancellationToken)
    {
        var buffer = new byte[MaxBodyBytes + 1];
        var length = 0;
        int read;
        while (length < buffer.Length && (read = await body.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false)) > 0)
        {
            length += read;
        }
        return length > MaxBodyBytes ? null : System.Text.Encoding.UTF8.GetString(buffer, 0, length);
    }

    private static string Truncate(string text, int max) => text.Length <= max ? text : text[..max] + "…";
}

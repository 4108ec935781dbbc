using System.Text.Json;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Recon.Core.Pipeline;

namespace Recon.Worker.Pipeline;

/// <summary>
/// Listens on recon-ingest: each message is a <see cref="ReconciliationRequest"/> in JSON. A valid one starts its
/// ingest (a repeat of the same message is the same run and starts nothing); a malformed or invalid one goes to
/// recon-ingest-poison at once with its reason — retrying cannot fix it.
/// </summary>
public sealed class IngestQueueListener(QueueServiceClient service, QueueSettings names, IngestStarter starter, ILogger<IngestQueueListener> logger)
    : BackgroundService
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Idle back-off between polls: 1 s keeps an ingest well inside a batch window.</summary>
    private static readonly TimeSpan IdlePoll = TimeSpan.FromSeconds(1);

    /// <summary>Messages taken per poll (the storage maximum is 32).</summary>
    private const int BatchSize = 16;

    /// <summary>A message that failed this often for reasons other than its content (storage errors) is poison too.</summary>
    private const int MaxDequeueCount = 5;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var queue = service.GetQueueClient(names.Ingest);
        var poison = service.GetQueueClient(names.IngestPoison);
        await queue.CreateIfNotExistsAsync(cancellationToken: stoppingToken).ConfigureAwait(false);
        await poison.CreateIfNotExistsAsync(cancellationToken: stoppingToken).ConfigureAwait(false);
        while (!stoppingToken.IsCancellationRequested)
        {
            QueueMessage[] messages;
            try
            {
                messages = await queue.ReceiveMessagesAsync(BatchSize, names.IngestVisibilityTimeout, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Azure.RequestFailedException ex)
            {
                logger.LogWarning(ex, "Reading {Queue} failed; trying again", names.Ingest);
                messages = [];
            }
            foreach (var message in messages)
            {
                await HandleAsync(queue, poison, message, stoppingToken).ConfigureAwait(false);
            }
            if (messages.Length == 0)
            {
                try
                {
                    await Task.Delay(IdlePoll, stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task HandleAsync(QueueClient queue, QueueClient poison, QueueMessage message, CancellationToken ct)
    {
        var body = message.Body.ToString();
        string? reason = null;
        ReconciliationRequest? request = null;
        try
        {
            request = JsonSerializer.Deserialize<ReconciliationRequest>(body, Json);
        }
        catch (JsonException ex)
        {
            reason = $"not a reconciliation request: {ex.Message}";
        }
        if (reason is null)
        {
            var errors = ReconciliationRequests.Validate(request);
            if (errors.Count > 0)
            {
                reason = $"invalid reconciliation request: {string.Join("; ", errors)}";
            }
        }
        if (reason is null && message.DequeueCount > MaxDequeueCount)
        {
            reason = $"dequeued {message.DequeueCount} times without being started";
        }
        if (reason is not null)
        {
            logger.LogWarning("Ingest message {Id} to poison: {Reason}", message.MessageId, reason);
            await poison.SendMessageAsync(JsonSerializer.Serialize(new { reason, queue = names.Ingest, messageId = message.MessageId, message = body }, Json), ct).ConfigureAwait(false);
            await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, ct).ConfigureAwait(false);
            return;
        }
        // a failure here leaves the message to reappear after the visibility timeout: nothing is lost
        var (runId, started, _) = await starter.StartAsync(request).ConfigureAwait(false);
        logger.LogInformation("Ingest message {Id}: run {RunId} {What}", message.MessageId, runId, started ? "started" : "already exists");
        await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, ct).ConfigureAwait(false);
    }
}

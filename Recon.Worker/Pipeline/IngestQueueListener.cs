using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Recon.Core.Hosting;
using Recon.Core.Queues;

namespace Recon.Worker.Pipeline;

/// <summary>
/// Listens on recon-ingest the way the Functions queue trigger does (host.json: batchSize 16 here, visibility 30 s, 1 s
/// idle polling) and hands each message to Core's <see cref="ReconIntake"/>, which starts its run or poisons it with the
/// reason. A message whose handling threw is left to come back after its visibility timeout.
/// </summary>
public sealed class IngestQueueListener(QueueServiceClient service, PriorityQueueOptions names, ReconIntake intake, HubControl control, ILogger<IngestQueueListener> logger)
    : BackgroundService
{
    /// <summary>Idle back-off between polls: 1 s keeps an ingest well inside a batch window.</summary>
    private static readonly TimeSpan IdlePoll = TimeSpan.FromSeconds(1);

    /// <summary>Messages taken per poll (the storage maximum is 32).</summary>
    private const int BatchSize = 16;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var queue = service.GetQueueClient(names.Ingest);
        await queue.CreateIfNotExistsAsync(cancellationToken: stoppingToken).ConfigureAwait(false);
        await service.GetQueueClient(QueueNames.Poison(names.Ingest)).CreateIfNotExistsAsync(cancellationToken: stoppingToken).ConfigureAwait(false);
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
                try
                {
                    await intake.FromQueueAsync(control, new IngestMessage(message.MessageId, message.Body.ToString(), message.DequeueCount), stoppingToken).ConfigureAwait(false);
                    await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, stoppingToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // as a Functions trigger that threw: the message comes back after its visibility timeout
                    logger.LogWarning(ex, "{Queue} message {Id} (delivery {Count}) failed; it comes back after {Timeout}", names.Ingest, message.MessageId, message.DequeueCount, names.IngestVisibilityTimeout);
                }
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
}

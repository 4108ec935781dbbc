using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Recon.Core.Queues;

namespace Recon.Worker.Pipeline;

/// <summary>
/// What the Functions queue trigger does for Recon.Worker: polls one queue (creating it and its poison queue), hands each
/// message to <see cref="HandleAsync"/> and deletes it when that returns; a message whose handling threw is left to come
/// back after its visibility timeout (Core's handlers poison it with the reason on its last delivery). The messages of one
/// receive are handled <paramref name="concurrently"/> (as the Functions trigger handles its batch): the recon-ingest
/// listener handled one at a time and, in the spike benchmark, planned ~1.8 runs a second while 100 arrived.
/// </summary>
public abstract class QueueListener(QueueServiceClient service, string queueName, int batchSize, TimeSpan visibilityTimeout, ILogger logger, bool concurrently = false)
    : BackgroundService
{
    /// <summary>Idle back-off between polls: 1 s keeps an ingest well inside a batch window (host.json maxPollingInterval).</summary>
    private static readonly TimeSpan IdlePoll = TimeSpan.FromSeconds(1);

    /// <summary>Handles one message; returning means it is done with (started, imported, or poisoned with its reason).</summary>
    protected abstract Task HandleAsync(QueueMessage message, CancellationToken cancellationToken);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var queue = service.GetQueueClient(queueName);
        await queue.CreateIfNotExistsAsync(cancellationToken: stoppingToken).ConfigureAwait(false);
        await service.GetQueueClient(QueueNames.Poison(queueName)).CreateIfNotExistsAsync(cancellationToken: stoppingToken).ConfigureAwait(false);
        while (!stoppingToken.IsCancellationRequested)
        {
            QueueMessage[] messages;
            try
            {
                messages = await queue.ReceiveMessagesAsync(batchSize, visibilityTimeout, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Azure.RequestFailedException ex)
            {
                logger.LogWarning(ex, "Reading {Queue} failed; trying again", queueName);
                messages = [];
            }
            if (concurrently)
            {
                await Task.WhenAll(messages.Select(m => HandleOneAsync(queue, m, stoppingToken))).ConfigureAwait(false);
            }
            else
            {
                foreach (var message in messages)
                {
                    await HandleOneAsync(queue, message, stoppingToken).ConfigureAwait(false);
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

    private async Task HandleOneAsync(QueueClient queue, QueueMessage message, CancellationToken stoppingToken)
    {
        try
        {
            await HandleAsync(message, stoppingToken).ConfigureAwait(false);
            await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, stoppingToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // as a Functions trigger that threw: the message comes back after its visibility timeout
            logger.LogWarning(ex, "{Queue} message {Id} (delivery {Count}) failed; it comes back after {Timeout}", queueName, message.MessageId, message.DequeueCount, visibilityTimeout);
        }
    }
}

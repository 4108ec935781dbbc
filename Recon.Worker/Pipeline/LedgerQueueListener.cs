using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Recon.Core.Ledger;
using Recon.Core.Queues;
using Recon.Core.Review;

namespace Recon.Worker.Pipeline;

/// <summary>
/// Listens on recon-ledger the way the Functions queue trigger does and hands each message to Core's
/// <see cref="LedgerIntake"/>, which imports it or poisons it with the reason. A message whose import threw is left to
/// come back after its visibility timeout.
/// </summary>
public sealed class LedgerQueueListener(QueueServiceClient service, PriorityQueueOptions names, LedgerIntake intake, ReviewOptions review, ILogger<LedgerQueueListener> logger)
    : BackgroundService
{
    /// <summary>Idle back-off between polls: ledger imports are not latency-critical, a second is plenty.</summary>
    private static readonly TimeSpan IdlePoll = TimeSpan.FromSeconds(1);

    /// <summary>Messages taken per poll: each may hold hundreds of entries and an import holds the posting locks, so a
    /// few at a time.</summary>
    private const int BatchSize = 4;

    /// <summary>How long a taken message stays invisible: a 64 KiB message imports in well under a second; 60 s covers a
    /// wait for the posting locks behind a large batch.</summary>
    private static readonly TimeSpan VisibilityTimeout = TimeSpan.FromSeconds(60);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var queue = service.GetQueueClient(names.Ledger);
        await queue.CreateIfNotExistsAsync(cancellationToken: stoppingToken).ConfigureAwait(false);
        await service.GetQueueClient(QueueNames.Poison(names.Ledger)).CreateIfNotExistsAsync(cancellationToken: stoppingToken).ConfigureAwait(false);
        var actor = review.ActorOf(null, QueueNames.Ledger);
        while (!stoppingToken.IsCancellationRequested)
        {
            QueueMessage[] messages;
            try
            {
                messages = await queue.ReceiveMessagesAsync(BatchSize, VisibilityTimeout, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Azure.RequestFailedException ex)
            {
                logger.LogWarning(ex, "Reading {Queue} failed; trying again", names.Ledger);
                messages = [];
            }
            foreach (var message in messages)
            {
                try
                {
                    await intake.FromQueueAsync(new LedgerMessage(message.MessageId, message.Body.ToString(), message.DequeueCount), actor, stoppingToken).ConfigureAwait(false);
                    await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, stoppingToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    logger.LogWarning(ex, "{Queue} message {Id} (delivery {Count}) failed; it comes back after {Timeout}", names.Ledger, message.MessageId, message.DequeueCount, VisibilityTimeout);
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

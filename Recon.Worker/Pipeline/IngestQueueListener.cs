using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Microsoft.Extensions.Logging;
using Recon.Core.Hosting;
using Recon.Core.Queues;

namespace Recon.Worker.Pipeline;

/// <summary>recon-ingest: each message to Core's <see cref="ReconIntake"/>, which starts its run or poisons it with the reason.</summary>
/// <remarks>16 messages per poll (the storage maximum is 32); visibility <see cref="PriorityQueueOptions.IngestVisibilityTimeout"/>.</remarks>
public sealed class IngestQueueListener(QueueServiceClient service, PriorityQueueOptions names, ReconIntake intake, HubControl control, ILogger<IngestQueueListener> logger)
    : QueueListener(service, names.Ingest, batchSize: 16, names.IngestVisibilityTimeout, logger, concurrently: true)
{
    protected override Task HandleAsync(QueueMessage message, CancellationToken cancellationToken)
        => intake.FromQueueAsync(control, new IngestMessage(message.MessageId, message.Body.ToString(), message.DequeueCount), cancellationToken);
}

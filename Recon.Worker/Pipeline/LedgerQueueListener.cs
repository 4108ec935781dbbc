using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Microsoft.Extensions.Logging;
using Recon.Core.Ledger;
using Recon.Core.Queues;
using Recon.Core.Review;

namespace Recon.Worker.Pipeline;

/// <summary>recon-ledger: each message to Core's <see cref="LedgerIntake"/>, which imports it or poisons it with the reason.</summary>
/// <remarks>4 messages per poll: each may hold hundreds of entries and an import holds the posting locks. Visibility 60 s:
/// a 64 KiB message imports in well under a second; 60 s covers a wait for the posting locks behind a large batch.</remarks>
public sealed class LedgerQueueListener(QueueServiceClient service, PriorityQueueOptions names, LedgerIntake intake, ReviewOptions review, ILogger<LedgerQueueListener> logger)
    : QueueListener(service, names.Ledger, batchSize: 4, TimeSpan.FromSeconds(60), logger)
{
    private readonly string _actor = review.ActorOf(null, QueueNames.Ledger);

    protected override Task HandleAsync(QueueMessage message, CancellationToken cancellationToken)
        => intake.FromQueueAsync(new LedgerMessage(message.MessageId, message.Body.ToString(), message.DequeueCount), _actor, cancellationToken);
}

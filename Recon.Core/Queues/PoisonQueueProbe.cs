using Azure;
using Azure.Storage.Queues;
using Recon.Core.Telemetry;

namespace Recon.Core.Queues;

/// <summary>
/// Publishes the depth of every poison queue as <c>recon.queue.depth</c> (tag <c>recon.queue</c> = the queue's name), the
/// metric the "messages in a poison queue" alert queries. Both hosts call it from their periodic watch (Functions: the
/// EnsureDispatcher timer, every minute; Recon.Worker: the dispatcher watch, every 30 s): a poison message is rare, so a
/// minute's delay costs nothing, and reading three queue properties a minute costs next to nothing.
/// </summary>
public sealed class PoisonQueueProbe(QueueServiceClient service, PriorityQueueOptions options)
{
    /// <summary>The poison queues of recon-ingest, recon-high, recon-low and recon-ledger (with this process's names).</summary>
    public IReadOnlyList<string> Queues { get; } =
        [QueueNames.Poison(options.Ingest), QueueNames.Poison(options.HighQueue), QueueNames.Poison(options.LowQueue), QueueNames.Poison(options.Ledger)];

    /// <summary>Reads each poison queue's approximate depth and publishes it; a queue that does not exist counts 0.</summary>
    public async Task<IReadOnlyDictionary<string, long>> SampleAsync(CancellationToken cancellationToken = default)
    {
        var depths = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var name in Queues)
        {
            long depth;
            try
            {
                depth = (await service.GetQueueClient(name).GetPropertiesAsync(cancellationToken).ConfigureAwait(false)).Value.ApproximateMessagesCount;
            }
            catch (RequestFailedException ex) when (ex.Status == 404)
            {
                depth = 0;
            }
            ReconMetrics.SetQueueDepth(name, depth);
            depths[name] = depth;
        }
        return depths;
    }
}

using System.Text.Json;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Recon.Core.Pipeline;

namespace Recon.Worker.Pipeline;

/// <summary>
/// recon-high / recon-low on Azure Storage queues: high first, then low into what is left.
/// TEMPORARY adapter until the priority queue client (issue "throttle") lands on main; it stays this thin on purpose.
/// </summary>
internal sealed class StorageBatchQueue(QueueServiceClient service, QueueSettings names) : IBatchQueue
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>A taken batch message reappears after 60 s if the dispatcher dies before starting it: starting takes
    /// milliseconds, and the instance id absorbs the rare double start.</summary>
    private static readonly TimeSpan DequeueVisibility = TimeSpan.FromSeconds(60);

    private readonly QueueClient _high = service.GetQueueClient(names.High);
    private readonly QueueClient _low = service.GetQueueClient(names.Low);
    private readonly QueueClient _poison = service.GetQueueClient(names.BatchPoison);

    public async Task CreateAsync(CancellationToken cancellationToken)
    {
        await _high.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        await _low.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        await _poison.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    public Task EnqueueAsync(BatchWork batch, CancellationToken cancellationToken)
        => (batch.IsHigh ? _high : _low).SendMessageAsync(JsonSerializer.Serialize(batch, Json), cancellationToken);

    public async Task<IReadOnlyList<QueuedBatch>> DequeueAsync(int maxHigh, int maxLow, CancellationToken cancellationToken)
    {
        var taken = new List<QueuedBatch>();
        if (maxHigh > 0)
        {
            await TakeAsync(_high, true, Math.Min(32, maxHigh), taken, cancellationToken).ConfigureAwait(false);
        }
        var lowRoom = Math.Min(maxLow, maxHigh - taken.Count);
        if (lowRoom > 0)
        {
            await TakeAsync(_low, false, Math.Min(32, lowRoom), taken, cancellationToken).ConfigureAwait(false);
        }
        return taken;
    }

    private static async Task TakeAsync(QueueClient queue, bool high, int max, List<QueuedBatch> into, CancellationToken cancellationToken)
    {
        QueueMessage[] messages = await queue.ReceiveMessagesAsync(max, DequeueVisibility, cancellationToken).ConfigureAwait(false);
        foreach (var m in messages)
        {
            BatchWork? batch = null;
            string? error = null;
            try
            {
                batch = JsonSerializer.Deserialize<BatchWork>(m.Body.ToString(), Json);
                error = batch is null ? "empty message" : null;
            }
            catch (JsonException ex)
            {
                error = ex.Message;
            }
            into.Add(new QueuedBatch(batch, high, (queue, m), m.DequeueCount, error));
        }
    }

    public Task CompleteAsync(QueuedBatch message, CancellationToken cancellationToken)
    {
        var (queue, m) = ((QueueClient, QueueMessage))message.Receipt;
        return queue.DeleteMessageAsync(m.MessageId, m.PopReceipt, cancellationToken);
    }

    public async Task PoisonAsync(QueuedBatch message, string reason, CancellationToken cancellationToken)
    {
        var (queue, m) = ((QueueClient, QueueMessage))message.Receipt;
        await _poison.SendMessageAsync(JsonSerializer.Serialize(new { reason, queue = queue.Name, message = m.Body.ToString() }, Json), cancellationToken).ConfigureAwait(false);
        await queue.DeleteMessageAsync(m.MessageId, m.PopReceipt, cancellationToken).ConfigureAwait(false);
    }

    public async Task<(long High, long Low)> DepthAsync(CancellationToken cancellationToken)
    {
        var high = await _high.GetPropertiesAsync(cancellationToken).ConfigureAwait(false);
        var low = await _low.GetPropertiesAsync(cancellationToken).ConfigureAwait(false);
        return (high.Value.ApproximateMessagesCount, low.Value.ApproximateMessagesCount);
    }
}

namespace Recon.Bench.Cost;

/// <summary>
/// Maps the storage operation names Recon.Worker counts at <c>GET /api/metrics/durable</c> (its <c>DurableMetrics.OperationOf</c>:
/// <c>queue/send</c>, <c>table/batch</c>, <c>blob/lease</c>, ...) to the REST API's names the price file prices
/// (<c>PutMessage</c>, <c>EntityGroupTransaction</c>, <c>LeaseBlob</c>, ...). A name not in the table throws, naming it:
/// a new kind of request must be priced on purpose, never dropped.
/// </summary>
/// <remarks>
/// The worker's names are coarser than the REST API's where a method on a non-message address falls through to
/// "method comp" (<c>put</c> on a queue is CreateQueue, <c>insert</c> on a table also covers CreateTable, <c>write</c> on
/// a blob also covers PutBlock and PutBlockList). Each such pair shares a price class, except queue
/// <c>delete</c>, which is DeleteMessage (free) and also DeleteQueue/ClearMessages: Recon deletes no queues while it runs.
/// </remarks>
public static class DurableOperationNames
{
    private static readonly Dictionary<(StorageService, string), string> Table = new()
    {
        [(StorageService.Queue, "send")] = "PutMessage",
        [(StorageService.Queue, "receive")] = "GetMessages",
        [(StorageService.Queue, "peek")] = "PeekMessages",
        [(StorageService.Queue, "update")] = "UpdateMessage",
        [(StorageService.Queue, "delete")] = "DeleteMessage",
        [(StorageService.Queue, "put")] = "CreateQueue",
        [(StorageService.Queue, "get metadata")] = "GetQueueMetadata",
        [(StorageService.Queue, "head metadata")] = "GetQueueMetadata",
        [(StorageService.Queue, "put metadata")] = "SetQueueMetadata",
        [(StorageService.Queue, "get list")] = "ListQueues",
        [(StorageService.Table, "query")] = "QueryEntities",
        [(StorageService.Table, "insert")] = "InsertEntity",
        [(StorageService.Table, "update")] = "UpdateEntity",
        [(StorageService.Table, "delete")] = "DeleteEntity",
        [(StorageService.Table, "batch")] = "EntityGroupTransaction",
        [(StorageService.Blob, "read")] = "GetBlob",
        [(StorageService.Blob, "write")] = "PutBlob",
        [(StorageService.Blob, "lease")] = "LeaseBlob",
        [(StorageService.Blob, "properties")] = "GetBlobProperties",
        [(StorageService.Blob, "list")] = "ListBlobs",
        [(StorageService.Blob, "delete")] = "DeleteBlob",
        [(StorageService.Blob, "get metadata")] = "GetBlobMetadata",
        [(StorageService.Blob, "head metadata")] = "GetBlobMetadata",
        [(StorageService.Blob, "put metadata")] = "SetBlobMetadata",
        [(StorageService.Blob, "create container")] = "CreateContainer",
        [(StorageService.Blob, "container properties")] = "GetContainerProperties",
        [(StorageService.Blob, "delete container")] = "DeleteContainer",
    };

    /// <summary>Every (service, worker name) the table maps.</summary>
    public static IReadOnlyCollection<(StorageService Service, string Operation)> Known => Table.Keys;

    /// <summary>The service a worker's service name (<c>blob</c>, <c>queue</c>, <c>table</c>) is.</summary>
    /// <exception cref="ArgumentException">Not one of the three.</exception>
    public static StorageService Service(string service) => service switch
    {
        "queue" => StorageService.Queue,
        "table" => StorageService.Table,
        "blob" => StorageService.Blob,
        _ => throw new ArgumentException($"/api/metrics/durable: unknown storage service '{service}' (expected blob, queue or table)", nameof(service)),
    };

    /// <summary>The REST name of the worker's <paramref name="operation"/> on <paramref name="service"/>.</summary>
    /// <exception cref="ArgumentException">The table has no entry: the message names the service and operation.</exception>
    public static string RestName(StorageService service, string operation)
        => Table.TryGetValue((service, operation), out var rest)
            ? rest
            : throw new ArgumentException(
                $"/api/metrics/durable: no REST operation for {service.ToString().ToLowerInvariant()} '{operation}'; add it to {nameof(DurableOperationNames)}",
                nameof(operation));

    /// <summary>
    /// The worker's counts (service → operation → requests) as priceable counts, REST names merged where two worker names
    /// map to one; zero counts are dropped. Throws on an unknown service or operation, naming it.
    /// </summary>
    public static List<StorageRequestCount> ToRest(IReadOnlyDictionary<string, IReadOnlyDictionary<string, long>> counts, double times = 1)
    {
        ArgumentNullException.ThrowIfNull(counts);
        var merged = new Dictionary<(StorageService, string), double>();
        foreach (var (serviceName, operations) in counts)
        {
            var service = Service(serviceName);
            foreach (var (operation, n) in operations)
            {
                var key = (service, RestName(service, operation));
                merged[key] = merged.GetValueOrDefault(key) + (n * times);
            }
        }

        return merged.Where(m => Math.Round(m.Value) > 0)
            .OrderBy(m => m.Key.Item1).ThenBy(m => m.Key.Item2, StringComparer.Ordinal)
            .Select(m => new StorageRequestCount(m.Key.Item1, m.Key.Item2, (long)Math.Round(m.Value)))
            .ToList();
    }
}

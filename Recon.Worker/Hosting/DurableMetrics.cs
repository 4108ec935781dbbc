using System.Collections.Concurrent;
using Azure.Core;
using Azure.Core.Pipeline;
using DurableTask.Core;
using DurableTask.Core.History;
using DurableTask.Core.Middleware;

namespace Recon.Worker.Hosting;

/// <summary>
/// What this worker process asked of the Durable engine and of storage since it started: activity executions and
/// orchestration episodes (counted by DTFx dispatcher middleware around every work item), and every storage request (each
/// try, retries included: storage bills each one) of the Durable backend's blob, queue and table clients and of Recon's
/// own queue clients, by service and operation. Read at <c>GET /api/metrics/durable</c>; the spike benchmark reads it
/// before and after a run and divides the difference by the batches done.
/// </summary>
public sealed class DurableMetrics
{
    private readonly ConcurrentDictionary<string, long> _activities = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _orchestrations = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Service, string Operation), long> _storage = new();

    public long ActivityExecutions => _activities.Values.Sum();

    public long OrchestrationEpisodes => _orchestrations.Values.Sum();

    /// <summary>One activity execution of <paramref name="name"/> started.</summary>
    public void ActivityExecuted(string? name) => _activities.AddOrUpdate(name ?? "?", 1, (_, n) => n + 1);

    /// <summary>One orchestration episode (a work item: replay plus new events) of <paramref name="name"/> started.</summary>
    public void OrchestrationEpisode(string? name) => _orchestrations.AddOrUpdate(name ?? "?", 1, (_, n) => n + 1);

    /// <summary>One storage request (one try) went out.</summary>
    public void StorageRequest(string service, string operation) => _storage.AddOrUpdate((service, operation), 1, (_, n) => n + 1);

    /// <summary>A policy for a client's options (<c>options.AddPolicy(metrics.StoragePolicy("queue"), HttpPipelinePosition.PerRetry)</c>)
    /// that counts every try against <paramref name="service"/> (blob, queue or table).</summary>
    public HttpPipelinePolicy StoragePolicy(string service) => new CountingPolicy(this, service);

    /// <summary>Counts episodes and executions on <paramref name="worker"/> (before it starts).</summary>
    public void Attach(TaskHubWorker worker)
    {
        ArgumentNullException.ThrowIfNull(worker);
        worker.AddOrchestrationDispatcherMiddleware(async (context, next) =>
        {
            OrchestrationEpisode(context.GetProperty<OrchestrationRuntimeState>()?.Name);
            await next().ConfigureAwait(false);
        });
        worker.AddActivityDispatcherMiddleware(async (context, next) =>
        {
            ActivityExecuted(context.GetProperty<TaskScheduledEvent>()?.Name);
            await next().ConfigureAwait(false);
        });
    }

    /// <summary>The counts so far, as <c>GET /api/metrics/durable</c> answers them.</summary>
    public DurableMetricsSnapshot Snapshot()
    {
        var storage = _storage.ToArray()
            .GroupBy(e => e.Key.Service, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => (IReadOnlyDictionary<string, long>)g.OrderBy(e => e.Key.Operation, StringComparer.Ordinal)
                .ToDictionary(e => e.Key.Operation, e => e.Value, StringComparer.Ordinal), StringComparer.Ordinal);
        return new DurableMetricsSnapshot(
            ActivityExecutions,
            OrchestrationEpisodes,
            _activities.OrderBy(e => e.Key, StringComparer.Ordinal).ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal),
            _orchestrations.OrderBy(e => e.Key, StringComparer.Ordinal).ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal),
            storage);
    }

    /// <summary>
    /// The operation a storage request performs, from its method and address: queue messages are send, receive, peek,
    /// update (visibility or content) and delete; table requests are query, insert, update (PUT/MERGE on an entity),
    /// delete and batch; blob requests are read, write, lease, properties, list, delete (create container, container properties and delete
    /// container on a container); anything else is the method
    /// with its <c>comp</c> (e.g. <c>PUT create</c>, <c>GET metadata</c>).
    /// </summary>
    public static string OperationOf(string service, string method, Uri uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        var path = uri.AbsolutePath;
        var query = uri.Query;
        string? comp = null;
        foreach (var part in query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part.StartsWith("comp=", StringComparison.OrdinalIgnoreCase))
            {
                comp = part[5..].ToLowerInvariant();
            }
        }
        method = method.ToUpperInvariant();
        switch (service)
        {
            case "queue" when path.Contains("/messages", StringComparison.Ordinal):
                return method switch
                {
                    "POST" => "send",
                    "GET" when query.Contains("peekonly=true", StringComparison.OrdinalIgnoreCase) => "peek",
                    "GET" => "receive",
                    "PUT" => "update",
                    "DELETE" => "delete",
                    _ => method.ToLowerInvariant(),
                };
            case "table" when path.EndsWith("/$batch", StringComparison.Ordinal):
                return "batch";
            case "table" when comp is null:
                return method switch
                {
                    "GET" => "query",
                    "POST" => "insert",
                    "PUT" or "MERGE" or "PATCH" => "update",
                    "DELETE" => "delete",
                    _ => method.ToLowerInvariant(),
                };
            case "blob" when comp is "lease":
                return "lease";
            case "blob" when comp is "list":
                return "list";
            case "blob" when comp is null && query.Contains("restype=container", StringComparison.OrdinalIgnoreCase):
                return method switch
                {
                    "PUT" => "create container",
                    "GET" or "HEAD" => "container properties",
                    "DELETE" => "delete container",
                    _ => $"{method.ToLowerInvariant()} container",
                };
            case "blob" when comp is null or "block" or "blocklist" or "appendblock":
                return method switch
                {
                    "GET" => "read",
                    "PUT" => "write",
                    "HEAD" => "properties",
                    "DELETE" => "delete",
                    _ => method.ToLowerInvariant(),
                };
        }
        return comp is null ? method.ToLowerInvariant() : $"{method.ToLowerInvariant()} {comp}";
    }

    private sealed class CountingPolicy(DurableMetrics metrics, string service) : HttpPipelinePolicy
    {
        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            Count(message);
            ProcessNext(message, pipeline);
        }

        public override ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            Count(message);
            return ProcessNextAsync(message, pipeline);
        }

        private void Count(HttpMessage message)
            => metrics.StorageRequest(service, OperationOf(service, message.Request.Method.Method, message.Request.Uri.ToUri()));
    }
}

/// <summary>The body of <c>GET /api/metrics/durable</c> (snake_case JSON).</summary>
/// <param name="ActivityExecutions">Activity work items this process started.</param>
/// <param name="OrchestrationEpisodes">Orchestration work items (episodes) this process started.</param>
/// <param name="Activities">The same by activity name.</param>
/// <param name="Orchestrations">The same by orchestrator name.</param>
/// <param name="StorageRequests">Storage requests (tries) by service (blob, queue, table) and operation.</param>
public sealed record DurableMetricsSnapshot(
    long ActivityExecutions,
    long OrchestrationEpisodes,
    IReadOnlyDictionary<string, long> Activities,
    IReadOnlyDictionary<string, long> Orchestrations,
    IReadOnlyDictionary<string, IReadOnlyDictionary<string, long>> StorageRequests);

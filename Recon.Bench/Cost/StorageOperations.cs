using System.Net;

namespace Recon.Bench.Cost;

/// <summary>
/// Names a storage request the way the price file does (the REST API's operation names), from its HTTP method, path
/// and query, so a counter at the storage clients (an <c>HttpPipelinePolicy</c>, say) produces
/// <see cref="StorageRequestCount"/>s the cost model can price.
/// </summary>
/// <remarks>
/// Only the method, path and query are read. Where the REST API tells two operations apart by a header alone (PutBlob
/// and CopyBlob, UpdateEntity and InsertOrReplaceEntity), the first name is used; each pair shares a price class.
/// </remarks>
public static class StorageOperations
{
    /// <summary>
    /// The operation a request to <paramref name="uri"/> is. Azurite's path-style addresses
    /// (<c>http://127.0.0.1:10001/devstoreaccount1/queue</c>, host an IP address or localhost) drop the account segment;
    /// Azure's (<c>https://account.queue.core.windows.net/queue</c>) have none in the path.
    /// </summary>
    /// <exception cref="ArgumentException">Not a request the REST API defines for <paramref name="service"/>.</exception>
    public static string Classify(StorageService service, string method, Uri uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        var segments = uri.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries).Select(Uri.UnescapeDataString).ToList();
        if (segments.Count > 0 && (uri.IsLoopback || IPAddress.TryParse(uri.Host, out _)))
        {
            segments.RemoveAt(0);
        }

        return Classify(service, method, segments, uri.Query);
    }

    /// <summary>The operation for a path given without the account (<c>["queue", "messages"]</c>) and its query string.</summary>
    /// <exception cref="ArgumentException">Not a request the REST API defines for <paramref name="service"/>.</exception>
    public static string Classify(StorageService service, string method, IReadOnlyList<string> pathAfterAccount, string query)
        => TryClassify(service, method, pathAfterAccount, query, out var operation)
            ? operation
            : throw new ArgumentException(
                $"no {service.ToString().ToLowerInvariant()} operation is {method} /{string.Join('/', pathAfterAccount)}{query}", nameof(method));

    /// <summary>As <see cref="Classify(StorageService, string, IReadOnlyList{string}, string)"/>, false instead of throwing.</summary>
    public static bool TryClassify(StorageService service, string method, IReadOnlyList<string> pathAfterAccount, string query, out string operation)
    {
        ArgumentNullException.ThrowIfNull(pathAfterAccount);
        var q = ParseQuery(query ?? "");
        var verb = method.ToUpperInvariant();
        operation = service switch
        {
            StorageService.Queue => Queue(verb, pathAfterAccount, q),
            StorageService.Table => Table(verb, pathAfterAccount, q),
            StorageService.Blob => Blob(verb, pathAfterAccount, q),
            _ => null,
        } ?? "";
        return operation.Length > 0;
    }

    private static string? Queue(string verb, IReadOnlyList<string> path, Dictionary<string, string> q)
    {
        var comp = q.GetValueOrDefault("comp");
        return path.Count switch
        {
            0 when q.GetValueOrDefault("restype") == "service" => (comp, verb) switch
            {
                ("properties", "GET") => "GetQueueServiceProperties",
                ("properties", "PUT") => "SetQueueServiceProperties",
                ("stats", "GET") => "GetQueueServiceStats",
                _ => null,
            },
            0 => comp == "list" && verb == "GET" ? "ListQueues" : null,
            1 => (comp, verb) switch
            {
                (null, "PUT") => "CreateQueue",
                (null, "DELETE") => "DeleteQueue",
                ("metadata", "GET" or "HEAD") => "GetQueueMetadata",
                ("metadata", "PUT") => "SetQueueMetadata",
                ("acl", "GET" or "HEAD") => "GetQueueACL",
                ("acl", "PUT") => "SetQueueACL",
                _ => null,
            },
            2 when path[1] == "messages" => verb switch
            {
                "POST" => "PutMessage",
                "GET" => q.GetValueOrDefault("peekonly") == "true" ? "PeekMessages" : "GetMessages",
                "DELETE" => "ClearMessages",
                _ => null,
            },
            3 when path[1] == "messages" => verb switch
            {
                "PUT" => "UpdateMessage",
                "DELETE" => "DeleteMessage",
                _ => null,
            },
            _ => null,
        };
    }

    private static string? Table(string verb, IReadOnlyList<string> path, Dictionary<string, string> q)
    {
        var comp = q.GetValueOrDefault("comp");
        if (path.Count == 0)
        {
            return (q.GetValueOrDefault("restype"), comp, verb) switch
            {
                ("service", "properties", "GET") => "GetTableServiceProperties",
                ("service", "properties", "PUT") => "SetTableServiceProperties",
                _ => null,
            };
        }

        if (path.Count != 1)
        {
            return null;
        }

        var resource = path[0];
        if (resource == "$batch")
        {
            return verb == "POST" ? "EntityGroupTransaction" : null;
        }

        if (resource == "Tables")
        {
            return verb switch { "GET" => "QueryTables", "POST" => "CreateTable", _ => null };
        }

        if (resource.StartsWith("Tables(", StringComparison.Ordinal))
        {
            return verb == "DELETE" ? "DeleteTable" : null;
        }

        if (comp == "acl")
        {
            return verb switch { "GET" or "HEAD" => "GetTableACL", "PUT" => "SetTableACL", _ => null };
        }

        // "table", "table()" or "table(PartitionKey='p',RowKey='r')"
        return verb switch
        {
            "GET" => "QueryEntities",
            "POST" => "InsertEntity",
            "PUT" => "UpdateEntity",
            "MERGE" or "PATCH" => "MergeEntity",
            "DELETE" => "DeleteEntity",
            _ => null,
        };
    }

    private static string? Blob(string verb, IReadOnlyList<string> path, Dictionary<string, string> q)
    {
        var comp = q.GetValueOrDefault("comp");
        var restype = q.GetValueOrDefault("restype");
        if (path.Count == 0)
        {
            return (restype, comp, verb) switch
            {
                (null, "list", "GET") => "ListContainers",
                ("service", "properties", "GET") => "GetBlobServiceProperties",
                ("service", "properties", "PUT") => "SetBlobServiceProperties",
                _ => null,
            };
        }

        if (path.Count == 1)
        {
            return restype != "container" ? null : (comp, verb) switch
            {
                (null, "PUT") => "CreateContainer",
                (null, "DELETE") => "DeleteContainer",
                (null, "GET" or "HEAD") => "GetContainerProperties",
                ("list", "GET") => "ListBlobs",
                ("metadata", "GET" or "HEAD") => "GetContainerMetadata",
                ("metadata", "PUT") => "SetContainerMetadata",
                ("acl", "GET" or "HEAD") => "GetContainerACL",
                ("acl", "PUT") => "SetContainerACL",
                ("lease", "PUT") => "LeaseContainer",
                _ => null,
            };
        }

        return (comp, verb) switch
        {
            (null, "PUT") => "PutBlob",
            ("block", "PUT") => "PutBlock",
            ("blocklist", "PUT") => "PutBlockList",
            ("appendblock", "PUT") => "AppendBlock",
            ("page", "PUT") => "PutPage",
            ("lease", "PUT") => "LeaseBlob",
            ("metadata", "PUT") => "SetBlobMetadata",
            ("properties", "PUT") => "SetBlobProperties",
            ("snapshot", "PUT") => "SnapshotBlob",
            ("tier", "PUT") => "SetBlobTier",
            (null, "GET") => "GetBlob",
            ("blocklist", "GET") => "GetBlockList",
            ("metadata", "GET" or "HEAD") => "GetBlobMetadata",
            (null, "HEAD") => "GetBlobProperties",
            (null, "DELETE") => "DeleteBlob",
            _ => null,
        };
    }

    private static Dictionary<string, string> ParseQuery(string query)
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var pair in query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var at = pair.IndexOf('=', StringComparison.Ordinal);
            var key = Uri.UnescapeDataString(at < 0 ? pair : pair[..at]);
            var value = at < 0 ? "" : Uri.UnescapeDataString(pair[(at + 1)..]);
            result[key] = value.ToLowerInvariant();
        }

        return result;
    }
}

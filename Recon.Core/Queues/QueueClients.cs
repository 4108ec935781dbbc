using Azure.Storage.Queues;

namespace Recon.Core.Queues;

/// <summary>
/// The one way Recon builds storage-queue clients: each request bounded by <see cref="NetworkTimeout"/> instead of the
/// SDK's 100 s, so a request the service never answers (seen on Azurite under load) is abandoned and retried in seconds
/// instead of holding a dispatch round — and the batches behind it — for minutes.
/// </summary>
public static class QueueClients
{
    /// <summary>A queue call takes milliseconds, seconds under load: 10 s is slack, not a limit that healthy calls meet.</summary>
    public static readonly TimeSpan NetworkTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Client options with the bounded network timeout and the SDK's three retries.</summary>
    public static QueueClientOptions Options()
    {
        var options = new QueueClientOptions();
        options.Retry.NetworkTimeout = NetworkTimeout;
        options.Retry.MaxRetries = 3;
        return options;
    }

    /// <summary>A service client for <paramref name="connectionString"/> with <see cref="Options"/>.</summary>
    public static QueueServiceClient Create(string connectionString) => new(connectionString, Options());
}

using Azure.Core;
using Azure.Storage.Queues;
using Recon.Core.Hosting;

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

    /// <summary>
    /// The service client the settings describe: the connection string when there is one (Azurite locally), else the
    /// queue endpoint with the managed identity (Azure, where shared keys are off). No network call.
    /// </summary>
    public static QueueServiceClient Create(StorageOptions storage, TokenCredential? credential)
        => Create(storage, credential, configure: null);

    /// <summary>As <see cref="Create(StorageOptions, TokenCredential?)"/>, with the client options changed by <paramref name="configure"/>.</summary>
    public static QueueServiceClient Create(StorageOptions storage, TokenCredential? credential, Action<QueueClientOptions>? configure)
    {
        ArgumentNullException.ThrowIfNull(storage);
        var options = Options();
        configure?.Invoke(options);
        if (!string.IsNullOrWhiteSpace(storage.ConnectionString))
        {
            return new QueueServiceClient(storage.ConnectionString, options);
        }
        if (string.IsNullOrWhiteSpace(storage.QueueServiceUri))
        {
            throw new InvalidOperationException(
                $"{StorageOptions.SectionName}:ConnectionString and {StorageOptions.SectionName}:QueueServiceUri are both empty; set one " +
                "(env Recon__Storage__ConnectionString to Azurite locally, or Recon__Storage__QueueServiceUri with Recon__Identity__ClientId in Azure).");
        }
        if (!Uri.TryCreate(storage.QueueServiceUri, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http"))
        {
            throw new InvalidOperationException($"{StorageOptions.SectionName}:QueueServiceUri '{storage.QueueServiceUri}' is not an http(s) URL.");
        }
        return credential is null
            ? throw new InvalidOperationException(
                $"{StorageOptions.SectionName}:QueueServiceUri is set but {IdentityOptions.SectionName}:ClientId is empty: the queue endpoint needs the managed identity (env Recon__Identity__ClientId).")
            : new QueueServiceClient(uri, credential, options);
    }
}
